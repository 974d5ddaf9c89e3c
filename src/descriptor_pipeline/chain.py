"""The pass chain run in one process: ingest -> the enabled passes -> select -> backtrack.

The Snakemake rules run the same stage functions, each in its own process; this is the one other
implementation of their order, used where the stages run in one process: the scikit-learn transformer's
``engine="inline"``, the stability reruns and the tests. Every stage reads and writes the checkpoint
files of :class:`~descriptor_pipeline.layout.Results`, as the rules do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.ingest import run_ingest
from descriptor_pipeline.layout import Results, StageFiles
from descriptor_pipeline.lineage import create_cluster_structure
from descriptor_pipeline.passes import run_pass
from descriptor_pipeline.selection import write_final_list
from descriptor_pipeline.settings import IngestSettings, enabled_passes, stage_config


def ingest_into(config: Mapping[str, Any], files: Sequence[str], results: Results, threads: int = 1) -> dict:
    """Rule ingest: the input ``files`` into ``results/ingest``."""
    out = results.ingest
    out.folder.mkdir(parents=True, exist_ok=True)
    return run_ingest(list(files), IngestSettings.from_config(stage_config(config, "ingest")), str(out.column_stats),
                      str(out.survivors), str(out.sample), str(out.summary), threads=threads)


def passes_into(config: Mapping[str, Any], results: Results, ingest: StageFiles | None = None, threads: int = 1) -> Path:
    """The enabled passes in order, each on the survivors of the stage before it, into ``results/<pass>``;
    they read the sample and statistics of ``ingest`` (by default ``results/ingest``). Returns the last
    stage's survivor list."""
    ingest = ingest or results.ingest
    survivors = ingest.survivors
    for name in enabled_passes(config):
        if config["passes"][name]["shards"] != 1:
            raise PipelineError(f"config key 'passes.{name}.shards': a chain in one process runs unsharded passes; use 1")
        out = results.stage(name)
        out.folder.mkdir(parents=True, exist_ok=True)
        run_pass(name, stage_config(config, name), ingest, survivors, out, threads=threads)
        survivors = out.survivors
    return survivors


def run_chain(config: Mapping[str, Any], files: Sequence[str], results: Results, threads: int = 1) -> dict:
    """Rules ingest, the enabled passes, select and backtrack, in this process; returns the cluster report.
    ``config``: a complete configuration (``settings.complete``)."""
    ingest_into(config, files, results, threads)
    last = passes_into(config, results, threads=threads)
    write_final_list(str(last), str(results.final_list))
    return create_cluster_structure(results.root, passes=enabled_passes(config), out=results.cluster_report)
