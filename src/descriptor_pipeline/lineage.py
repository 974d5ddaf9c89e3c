"""Backtracking: every final survivor with every descriptor it stands for, through all passes.

Reads only a results directory (``ingest/column_stats.parquet``, ``ingest/summary.json``,
``ingest/sample.parquet``, each pass's ``clusters.parquet`` and ``summary.json``,
``final_descriptors.txt``) and writes ``surviving_descriptors_clusters.json``; see
``schemas/clusters.schema.json`` for its layout.

Each lineage step carries its pass's predictability figure (how well the step's representative predicts
the descriptor, on the pass's rows; 1 for an exact duplicate); each survivor's ``predictability`` gives
the same figure end to end, from the survivor to each alternative directly, on the whole ingest sample.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path

import pyarrow.parquet as pq

from descriptor_pipeline import checkpoints, io
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import Results
from descriptor_pipeline.logs import LOG, Progress
from descriptor_pipeline.passes import PASSES, read_sample
from descriptor_pipeline.predictability import column_figures

VERSIONED_PACKAGES = ("descriptor-pipeline", "numpy", "duckdb", "pyarrow", "leidenalg", "igraph", "snakemake")


def stage_chain(results: Path, last_stage: str | None = None) -> list[str]:
    """The passes that fed the final list, in run order (read from each pass summary's ``input_stage``)."""
    if last_stage is None:
        files = Results(results)
        final = io.read_lines(files.final_list)
        last_stage = "ingest"
        for name in reversed(PASSES):
            if files.stage(name).summary.exists() and io.read_lines(files.stage(name).survivors) == final:
                last_stage = name
                break
    chain: list[str] = []
    stage = last_stage
    while stage != "ingest":
        if stage not in PASSES or stage in chain:
            raise PipelineError(f"{results}: pass chain is broken at {stage!r}; rerun the workflow")
        chain.append(stage)
        stage = io.read_json(Results(results).stage(stage).summary)["input_stage"]
    return chain[::-1]


def package_versions(packages: Sequence[str] = VERSIONED_PACKAGES) -> dict[str, str]:
    """Installed version of each package ("not installed" when it is not)."""
    out = {}
    for pkg in packages:
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def build_cluster_structure(results: str | Path, passes: Sequence[str] | None = None) -> dict:
    """Build the cluster report from a results directory; ``passes`` defaults to the chain that ran."""
    results = Path(results)
    chain = list(passes) if passes is not None else stage_chain(results)
    files = Results(results)
    checkpoints.verify(files.ingest.column_stats, files.ingest.sample,
                       *(p for name in chain for p in (files.stage(name).clusters, files.stage(name).survivors)))
    final = io.read_lines(files.final_list)
    try:
        stats = pq.read_table(files.ingest.column_stats).to_pylist()
    except FileNotFoundError:
        raise PipelineError(f"{files.ingest.column_stats}: file not found; run the ingest rule first") from None
    ingest_summary = io.read_json(files.ingest.summary)

    # parent[name] = (pass, represented_by, similarity, predictability): the step that removed `name`.
    parent: dict[str, tuple[str, str, float, float]] = {}
    dropped: dict[str, dict] = {}
    duplicate_of: dict[str, str] = {}
    for row in stats:
        if row["status"] == "duplicate":
            parent[row["column"]] = ("ingest", row["duplicate_of"], 1.0, 1.0)
            duplicate_of[row["column"]] = row["duplicate_of"]
        elif row["status"] == "dropped":
            dropped[row["column"]] = {"pass": "ingest", "reason": row["reason"], "figure": row["figure"]}
    thresholds = {}
    for name in chain:
        summary = io.read_json(files.stage(name).summary)
        thresholds[name] = summary["threshold"]
        path = files.stage(name).clusters
        if "predictability" not in pq.read_schema(path).names:
            raise PipelineError(f"{path}: written by an older version (no predictability column); rerun the {name} rule")
        for row in pq.read_table(path, columns=["descriptor", "representative", "similarity", "predictability"]).to_pylist():
            if row["descriptor"] != row["representative"]:
                parent[row["descriptor"]] = (name, row["representative"], float(row["similarity"]), float(row["predictability"]))

    children: dict[str, list[str]] = {}
    for child, (_, rep, _, _) in parent.items():
        children.setdefault(rep, []).append(child)

    members_of: dict[str, list[str]] = {}
    for survivor in final:
        members: list[str] = []
        stack = list(children.get(survivor, ()))
        while stack:
            name = stack.pop()
            members.append(name)
            stack.extend(children.get(name, ()))
        members_of[survivor] = members
    end_to_end = end_to_end_figures(files.ingest.sample, members_of, duplicate_of)

    descriptors: dict[str, dict] = {}
    for survivor in final:
        members = members_of[survivor]
        history: dict[str, list[str]] = {}
        lineage: dict[str, list[dict]] = {}
        for name in members:
            history.setdefault(parent[name][0], []).append(name)
            steps, node = [], name
            while node != survivor:
                step, rep, sim, pred = parent[node]
                steps.append({"pass": step, "represented_by": rep, "similarity": sim, "predictability": pred})
                node = rep
            lineage[name] = steps
        alternatives = sorted(members)
        descriptors[survivor] = {
            "cluster_size": len(members) + 1,
            "is_representative": True,
            "alternative_descriptors": alternatives,
            "all_cluster_members": sorted([survivor, *members]),
            "removal_history": {step: sorted(names) for step, names in sorted(history.items(), key=lambda kv: _step_order(kv[0]))},
            "total_alternatives": len(members),
            "lineage": {name: lineage[name] for name in alternatives},
            "predictability": {name: end_to_end[(survivor, name)] for name in alternatives},
        }

    sizes = [d["cluster_size"] for d in descriptors.values()]
    distribution: dict[str, int] = {}
    for size in sorted(sizes):
        distribution[str(size)] = distribution.get(str(size), 0) + 1
    with_alternatives = sum(1 for s in sizes if s > 1)
    structure = {
        "metadata": {
            "total_descriptors": len(final),
            "descriptors_with_alternatives": with_alternatives,
            "standalone_descriptors": len(final) - with_alternatives,
            "total_alternative_descriptors": sum(s - 1 for s in sizes),
            "input_columns": len(stats),
            "dropped_columns": len(dropped),
            "passes_run": ["ingest", *chain],
            "thresholds": thresholds,
            "seed": ingest_summary["settings"]["seed"],
            "sample_rows": ingest_summary["sample_rows"],
            "input_files": ingest_summary["input_files"],
            "package_versions": package_versions(),
        },
        "statistics": {
            "cluster_size_mean": statistics.fmean(sizes) if sizes else 0.0,
            "cluster_size_median": float(statistics.median(sizes)) if sizes else 0.0,
            "cluster_size_min": min(sizes, default=0),
            "cluster_size_max": max(sizes, default=0),
            "cluster_size_std": statistics.pstdev(sizes) if sizes else 0.0,
            "size_distribution": distribution,
        },
        "descriptors": descriptors,
        "dropped": dropped,
    }
    _check_conservation(structure, [row["column"] for row in stats])
    return structure


def end_to_end_figures(sample: Path, members_of: dict[str, list[str]], duplicate_of: dict[str, str],
                       columns_per_read: int = 256) -> dict[tuple[str, str], float]:
    """(survivor, alternative) -> how well the survivor predicts the alternative on the whole sample.

    An exact duplicate is not in the sample: the column it equals stands in for its values. An exact
    duplicate of the survivor itself is 1 by definition, as its ingest step is (estimated, the figure of
    a column from itself is 1 - 1/400 for 20 bins, and 0 when it is non-zero on too few rows to tell).
    """
    out: dict[tuple[str, str], float] = {}
    todo = [(s, m) for s, m in members_of.items() if m]
    progress = Progress("backtrack: end-to-end predictability", sum(len(m) for _, m in todo), "alternatives")
    batch: list[tuple[str, list[str]]] = []

    def flush() -> None:
        names = sorted({n for s, m in batch for n in [s, *(duplicate_of.get(a, a) for a in m)]})
        X = read_sample(str(sample), names, columns_per_read=columns_per_read)
        row = {n: k for k, n in enumerate(names)}
        for survivor, members in batch:
            estimated = [a for a in members if duplicate_of.get(a, a) != survivor]
            figures = dict(zip(estimated, column_figures([X[row[duplicate_of.get(a, a)]] for a in estimated], X[row[survivor]])))
            out.update({(survivor, a): figures.get(a, 1.0) for a in members})
            progress.update(len(members))
        batch.clear()

    width = 0
    for survivor, members in todo:
        batch.append((survivor, members))
        width += len(members) + 1
        if width >= columns_per_read:
            flush()
            width = 0
    if batch:
        flush()
    if todo:
        progress.finish()
    return out


def _step_order(step: str) -> int:
    return (["ingest", *PASSES]).index(step)


def _check_conservation(structure: dict, columns: Sequence[str]) -> None:
    """Every input column appears exactly once: as a survivor, one survivor's alternative, or dropped."""
    seen: dict[str, int] = {}
    for name, entry in structure["descriptors"].items():
        for member in entry["all_cluster_members"]:
            seen[member] = seen.get(member, 0) + 1
    for name in structure["dropped"]:
        seen[name] = seen.get(name, 0) + 1
    missing = [c for c in columns if seen.get(c, 0) == 0]
    twice = [c for c, k in seen.items() if k > 1]
    if missing or twice or len(seen) != len(columns):
        raise PipelineError(
            f"cluster report is inconsistent (unaccounted: {missing[:3]}, counted twice: {twice[:3]}); "
            "the results directory mixes runs: rerun the workflow"
        )


def _is_cluster_report(path: Path) -> bool:
    """A surviving_descriptors_clusters.json as this module writes it (key-sorted: ``descriptors`` first)."""
    with open(path, "rb") as handle:
        return handle.read(20) == b'{\n  "descriptors": '


def create_cluster_structure(output_dir: str | Path = "results", passes: Sequence[str] | None = None, out: str | Path | None = None) -> dict:
    """Build ``surviving_descriptors_clusters.json`` from an existing results directory, write it, return it."""
    target = Path(out) if out else Results(output_dir).cluster_report
    if out:  # the run's own file is its output; another file is replaced only if it is such a report
        io.check_replaceable(target, _is_cluster_report, "backtrack --out")
    structure = build_cluster_structure(output_dir, passes)
    io.write_json(target, structure)
    LOG.info("backtrack: %d survivors, %d alternatives, %d dropped -> %s",
             structure["metadata"]["total_descriptors"], structure["metadata"]["total_alternative_descriptors"],
             len(structure["dropped"]), target)
    return structure
