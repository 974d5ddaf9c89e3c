"""Glue for the thin Snakemake scripts: logging to the rule's log and one-line errors."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.logs import LOG, setup_logging


def run_stage(smk: Any, body: Callable[[Any], object]) -> None:
    """Run ``body(snakemake)`` with logging to ``snakemake.log[0]``.

    A :class:`PipelineError` becomes one ``ERROR`` line in the log and on stderr and exit status 1,
    never a traceback; outputs are written atomically, so nothing half-written is left behind.
    """
    log_file = smk.log[0] if len(smk.log) else None
    setup_logging(log_file)
    try:
        body(smk)
    except PipelineError as exc:
        LOG.error("%s", exc)
        print(f"ERROR: {exc}", file=sys.stderr)
        sys.exit(1)
    except MemoryError:
        message = f"rule {smk.rule}: out of memory; lower 'sample_rows' or 'block_memory_mb', or give the job more memory"
        LOG.error("%s", message)
        print(f"ERROR: {message}", file=sys.stderr)
        sys.exit(1)
