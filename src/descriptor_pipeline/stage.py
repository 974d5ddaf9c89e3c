"""Glue for the thin Snakemake scripts: logging to the rule's log and one-line errors."""

from __future__ import annotations

import errno
import faulthandler
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.logs import LOG, peak_rss_mib, setup_logging


def run_stage(smk: Any, body: Callable[[Any], object]) -> None:
    """Run ``body(snakemake)`` with logging to ``snakemake.log[0]``.

    A :class:`PipelineError` becomes one ``ERROR`` line in the log and on stderr and exit status 1,
    never a traceback; outputs are written atomically, so nothing half-written is left behind.
    """
    log_file = smk.log[0] if len(smk.log) else None
    setup_logging(log_file)
    report_crashes(log_file)
    remove_stale_temporaries(list(smk.output))
    try:
        body(smk)
        log_memory(smk)
    except PipelineError as exc:
        _fail(str(exc))
    except MemoryError:
        _fail(out_of_memory(smk.rule))
    except OSError as exc:
        _fail(os_error_line(smk.rule, exc, list(smk.output)))
    except Exception as exc:
        if type(exc).__name__ == "OutOfMemoryException":  # DuckDB's (duckdb.OutOfMemoryException)
            _fail(f"{out_of_memory(smk.rule)} (DuckDB: {str(exc).splitlines()[0]})")
        raise


MEMORY_LINE = "rule {rule}: peak memory {peak:.0f} MiB; the job asked for {asked} MiB (mem_mb {mem_mb})"


def log_memory(smk: Any) -> None:
    """The job's peak resident memory next to what it asked the scheduler for (its ``mem_mb``), in its
    log; a warning when the peak is past the request (a cluster would have killed the job)."""
    peak = peak_rss_mib()
    mem_mb = getattr(smk.resources, "mem_mb", None)
    if not isinstance(mem_mb, (int, float)):
        LOG.info("rule %s: peak memory %.0f MiB", smk.rule, peak)
        return
    asked = mem_mb * 10**6 / 2**20
    LOG.info(MEMORY_LINE.format(rule=smk.rule, peak=peak, asked=f"{asked:.0f}", mem_mb=mem_mb))
    if peak > asked:
        LOG.warning("rule %s: the job used %.0f MiB, more than the %.0f MiB it asked for; give it more memory "
                    "(the profile's set-resources mem_mb) so that a cluster does not kill it", smk.rule, peak, asked)


def job_memory(log_dir: str | os.PathLike[str]) -> dict[str, dict[str, float]]:
    """Per job of a run (its log's name, e.g. ``hsic`` or ``shards/hsic-0``): ``peak_mib`` and, where the
    job had a ``mem_mb``, ``asked_mib``, read from the lines :func:`log_memory` wrote in ``log_dir``."""
    pattern = re.compile(r"rule \S+: peak memory (\d+) MiB(?:; the job asked for (\d+) MiB)?")
    found: dict[str, dict[str, float]] = {}
    root = Path(log_dir)
    for log in sorted(root.rglob("*.log")):
        for match in pattern.finditer(log.read_text(encoding="utf-8", errors="replace")):
            entry = {"peak_mib": float(match.group(1))}
            if match.group(2):
                entry["asked_mib"] = float(match.group(2))
            found[log.relative_to(root).with_suffix("").as_posix()] = entry
    return found


def _fail(message: str) -> None:
    LOG.error("%s", message)
    print(f"ERROR: {message}", file=sys.stderr)
    sys.exit(1)


def out_of_memory(rule: str) -> str:
    return (f"rule {rule}: out of memory; lower 'sample_rows' or 'block_memory_mb', or give the job more memory "
            "(--resources mem_mb=..., or the profile's mem_mb)")


def os_error_line(rule: str, exc: OSError, outputs: Sequence[str] = ()) -> str:
    """One line for a failed read or write: the file, what the system said, and what to do."""
    full = exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
    where = f"{exc.filename}: " if exc.filename else ""
    if full and not where and outputs:  # the writer did not say which file: the outputs it was writing
        where = f"writing {os.path.commonpath([os.path.dirname(o) or os.curdir for o in outputs])}/: "
    if full:
        what = ("no space left on the device (or past a file size limit or quota); free space, or point TMPDIR and "
                "the run directory at a larger disk, and run again")
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        what = "permission denied; make it writable (or readable) for this user, or use another run directory"
    else:
        what = f"{exc.strerror or exc}; check the file and run again"
    return f"rule {rule}: {where}{what}"


_CRASH_LOG: list = []  # the open log file faulthandler writes to; kept open for the life of the process


def report_crashes(log_file: str | None) -> None:
    """Write the Python stack into the rule's log when a library kills the process (SIGSEGV, SIGFPE, ...),
    which would otherwise end the job with a signal and nothing in its log to say where."""
    stream = sys.stderr
    if log_file:
        stream = open(log_file, "a", encoding="utf-8")  # noqa: SIM115 - must outlive this function
        _CRASH_LOG[:] = [stream]
    faulthandler.enable(file=stream)


def remove_stale_temporaries(outputs: list[str]) -> None:
    """Delete the temporary files an earlier, killed attempt left next to these outputs.

    Atomic writes go to ``.NAME.XXXX.tmp`` and are renamed onto NAME; a process killed with SIGKILL
    between the two leaves the temporary behind. Snakemake locks the working directory, so no other
    run is writing these outputs now.
    """
    for output in outputs:
        target = Path(output)
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            stale.unlink(missing_ok=True)
            LOG.info("removed %s, left by an interrupted earlier attempt", stale)
