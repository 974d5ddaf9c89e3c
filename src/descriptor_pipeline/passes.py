"""One dependence pass: read the previous survivors' sample columns, find edges, cluster, write outputs.

Outputs of pass P: ``clusters.parquet`` (descriptor, cluster, representative, similarity,
predictability, is_representative, community, centrality), ``edges.parquet`` (descriptor_a,
descriptor_b, similarity, a_from_b, b_from_a, is_merge), ``survivors.txt`` (input column order) and
``summary.json``.

A pair at or above the threshold is a link; a link is a merge when each of its two descriptors
predicts the other to at least ``min_predictability`` (see predictability.py). Leiden and the choice of
survivors see the merges only; refused links stay in edges.parquet with their figures.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from descriptor_pipeline import checkpoints, io
from descriptor_pipeline.backend import get_namespace, resolve_backend
from descriptor_pipeline.dependence import HSIC, RDC, EdgeResult, Measure, Spearman, all_pairs, derive_seed
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.graph import cluster_descriptors
from descriptor_pipeline.layout import StageFiles
from descriptor_pipeline.logs import LOG, Progress, peak_rss_mib
from descriptor_pipeline.predictability import pair_figures
from descriptor_pipeline.settings import MIN_ROWS, PASSES, PassSettings

__all__ = ["MEASURES", "PASSES", "PassKind", "PassSettings", "make_measure", "read_sample", "run_pass", "run_shard"]


@dataclass(frozen=True)
class PassKind:
    """What a dependence pass is: how its similarity is named to a reader, and its measure built from the
    pass's settings and a seed."""

    label: str
    build: Callable[[PassSettings, int], Measure]


# The one registry of the passes' measures, in run order (the names are settings.PASSES).
MEASURES: dict[str, PassKind] = {
    "spearman": PassKind("|Spearman rho|", lambda s, seed: Spearman()),
    "hsic": PassKind("normalized HSIC", lambda s, seed: HSIC(n_features=s.measure["n_features"], seed=seed)),
    "rdc": PassKind("RDC", lambda s, seed: RDC(k=s.measure["k"], s=s.measure["s"], seed=seed)),
}
if tuple(MEASURES) != PASSES:
    raise RuntimeError(f"passes.MEASURES {tuple(MEASURES)} and settings.PASSES {PASSES} disagree")


def make_measure(pass_name: str, config: Mapping[str, Any] | PassSettings) -> Measure:
    """The measure of a pass, with its settings and a seed derived from the config seed and the pass name."""
    s = config if isinstance(config, PassSettings) else PassSettings.from_config(pass_name, config)
    return MEASURES[s.name].build(s, derive_seed(s.seed, s.name, "features"))


def read_sample(path: str, names: Sequence[str], max_rows: int = 0, columns_per_read: int = 256) -> np.ndarray:
    """Columns ``names`` of the ingest sample as a (columns, rows) float64 array, NaN for missing.

    Read ``columns_per_read`` columns at a time: reading a wide Parquet file whole holds Arrow buffers
    of several times its data (6.6 GiB for 0.75 GiB of values at 20,000 columns), a batch only its own.
    """
    try:
        sample = pq.ParquetFile(path)
        n_rows = sample.metadata.num_rows if not max_rows else min(max_rows, sample.metadata.num_rows)
        missing = sorted(set(names) - set(sample.schema_arrow.names))
        if missing:
            raise PipelineError(f"{path}: the sample has no column {missing[0]!r} (from the survivor list); rerun the ingest rule")
        X = np.empty((len(names), n_rows))
        for lo in range(0, len(names), columns_per_read):
            batch = list(names[lo : lo + columns_per_read])
            table = sample.read(columns=batch).slice(0, n_rows)
            for k, name in enumerate(batch):
                X[lo + k] = table.column(name).to_numpy()
    except (pa.ArrowInvalid, OSError, KeyError) as exc:
        raise PipelineError(f"{path}: cannot read the sample columns ({exc}); rerun the ingest rule") from None
    X[~np.isfinite(X)] = np.nan
    return X


@dataclass
class PassEdges:
    """The edges of a pass (or of one shard of it) and how they were obtained, for the summary."""

    edges: EdgeResult
    rows: int
    backend: str
    histogram_values: str
    read_seconds: float


def compute_edges(
    settings: PassSettings, sample_path: str, names: Sequence[str], threads: int = 1, shard: tuple[int, int] = (0, 1)
) -> PassEdges:
    """The pass's edges among ``names`` (name order), or one shard of them."""
    t0 = time.perf_counter()
    pass_name, threshold = settings.name, settings.threshold
    backend = resolve_backend(settings.backend)
    X = read_sample(sample_path, names, settings.max_rows)
    read_seconds = time.perf_counter() - t0
    LOG.info("%s: %d descriptors x %d rows, threshold %.4g, backend %s, dtype %s%s",
             pass_name, len(names), X.shape[1], threshold, backend, settings.dtype,
             f", shard {shard[0] + 1} of {shard[1]}" if shard[1] > 1 else "")
    progress = Progress(f"{pass_name} blocks", 1, "blocks")

    def on_block(done: int, total: int) -> None:
        progress.total = total
        progress.update(1)

    measure = make_measure(pass_name, settings)
    edges = all_pairs(
        X, measure, threshold, get_namespace(backend), settings.dtype, settings.block_memory_mb, on_block, threads, shard,
    )
    progress.finish()
    if edges.features:
        f = edges.features
        LOG.info("%s: each column's %d features compressed to its rank: %.1f on average, median %g, largest %d "
                 "(energy left out <= %.2e), held: %s", pass_name, f["n_features"], f["rank_mean"], f["rank_median"],
                 f["rank_max"], f["energy_left_out_max"], f["held"])
    LOG.info("%s: %d pairs at or above %.4g (%d block%s of %d columns)", pass_name, len(edges.i), threshold,
             edges.n_blocks, "" if edges.n_blocks == 1 else "s", edges.block_columns)
    return PassEdges(edges, int(X.shape[1]), backend, edges.histogram_values, read_seconds)


def run_shard(
    pass_name: str, config: Mapping[str, Any], sample_path: str, survivors_in: str, shard: int, shards: int, out: str,
    threads: int = 1,
) -> None:
    """One shard of a pass's block pairs: its edges (i, j, similarity) and histogram, for run_pass to gather.
    ``config``: the config, or the part the pass reads (``settings.stage_config``)."""
    checkpoints.verify(survivors_in, sample_path)
    names = sorted(io.read_lines(survivors_in))
    result = compute_edges(PassSettings.from_config(pass_name, config), sample_path, names, threads, (shard, shards))
    edges = result.edges
    meta = {"hist_counts": edges.hist_counts, "n_blocks": edges.n_blocks, "block_columns": edges.block_columns,
            "seconds": edges.seconds, "rows": result.rows, "backend": result.backend,
            "histogram_values": result.histogram_values, "read_seconds": result.read_seconds,
            "shard": [shard, shards], "descriptors": len(names), "features": edges.features}
    table = pa.table({"i": edges.i, "j": edges.j, "similarity": edges.similarity})
    io.write_parquet(out, table.replace_schema_metadata({"descriptor_pipeline": json.dumps(meta)}))


def gather_shards(paths: Sequence[str], n_names: int) -> PassEdges:
    """Merge the shards written by run_shard (histograms, blocks and times summed)."""
    parts, metas = [], []
    for path in paths:
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[b"descriptor_pipeline"])
        if meta["descriptors"] != n_names:
            raise PipelineError(f"{path}: written for {meta['descriptors']} descriptors, not {n_names}; rerun the shard rules")
        parts.append(table)
        metas.append(meta)
    shards = sorted(m["shard"][0] for m in metas)
    if shards != list(range(len(paths))) or any(m["shard"][1] != len(paths) for m in metas):
        raise PipelineError(f"{paths[0]}: the edge shards do not form one complete set; rerun the shard rules")
    edges = EdgeResult(
        i=np.concatenate([t["i"].to_numpy() for t in parts]).astype(np.int64),
        j=np.concatenate([t["j"].to_numpy() for t in parts]).astype(np.int64),
        similarity=np.concatenate([t["similarity"].to_numpy() for t in parts]).astype(np.float64),
        hist_counts=[int(sum(c)) for c in zip(*(m["hist_counts"] for m in metas))],
        n_blocks=sum(m["n_blocks"] for m in metas), block_columns=metas[0]["block_columns"],
        seconds=sum(m["seconds"] for m in metas), features=metas[0].get("features"),
    )
    first = metas[0]
    return PassEdges(edges, first["rows"], first["backend"], first["histogram_values"], sum(m["read_seconds"] for m in metas))


def edge_predictability(sample_path: str, names: Sequence[str], i: np.ndarray, j: np.ndarray, max_rows: int = 0
                        ) -> tuple[np.ndarray, np.ndarray]:
    """For each link (names[i], names[j]): how well b predicts a, and a predicts b, on the pass's rows."""
    if len(i) == 0:
        return np.zeros(0), np.zeros(0)
    touched = np.unique(np.concatenate([i, j]))
    X = read_sample(sample_path, [names[k] for k in touched], max_rows)
    local = np.searchsorted(touched, np.stack([i, j]))
    progress = Progress("predictability", len(i), "links")
    a_from_b, b_from_a = pair_figures(X, local[0], local[1], on_pair=progress.update)
    progress.finish()
    return a_from_b, b_from_a


def _step_figures(names: Sequence[str], i: np.ndarray, j: np.ndarray, a_from_b: np.ndarray, b_from_a: np.ndarray
                  ) -> dict[tuple[str, str], float]:
    """(alternative, representative) -> how well the representative predicts the alternative."""
    out: dict[tuple[str, str], float] = {}
    for a, b, ab, ba in zip(i.tolist(), j.tolist(), a_from_b.tolist(), b_from_a.tolist()):
        out[(names[a], names[b])] = ab
        out[(names[b], names[a])] = ba
    return out


def run_pass(
    pass_name: str,
    config: Mapping[str, Any],
    ingest: StageFiles,
    survivors_in: str | Path,
    out: StageFiles,
    threads: int = 1,
    edge_shards: Sequence[str] = (),
) -> dict:
    """Run one dependence pass end to end and write its four outputs into ``out``; return the summary.

    ``config``: the config, or the part of it the pass reads (``settings.stage_config(config, pass_name)``).
    The pass reads ``survivors_in`` (the previous stage's list) and the sample and statistics of
    ``ingest``. ``threads`` workers share the block products; the outputs do not depend on their number.
    With ``edge_shards`` (files of run_shard) the edges are gathered from them instead of computed here,
    so this job needs no GPU even when the shards ran on one.
    """
    t0 = time.perf_counter()
    checkpoints.verify(survivors_in, ingest.sample, ingest.column_stats)  # before anything is written
    settings = PassSettings.from_config(pass_name, config)
    names_in = io.read_lines(survivors_in)
    names = sorted(names_in)  # compute in name order: column order cannot matter
    found = (gather_shards(edge_shards, len(names)) if edge_shards
             else compute_edges(settings, str(ingest.sample), names, threads))
    edges = _in_pair_order(found.edges)
    t_pairs = time.perf_counter()
    a_from_b, b_from_a = edge_predictability(str(ingest.sample), names, edges.i, edges.j, settings.max_rows)
    merge = np.minimum(a_from_b, b_from_a) >= settings.min_predictability
    if found.rows < MIN_ROWS and merge.any():  # chance alone makes independent columns look linked here
        LOG.warning("%s: %d rows are too few to tell dependence from chance (at least %d); none of its %d links is "
                    "a merge (give more rows; docs/calibration.md, Row floor)", pass_name, found.rows, MIN_ROWS, len(merge))
        merge[:] = False
    if len(merge):
        LOG.info("%s: %d of %d links are merges (each predicts the other >= %.3g); %d refused",
                 pass_name, int(merge.sum()), len(merge), settings.min_predictability, int((~merge).sum()))
    t_predict = time.perf_counter()
    clustering = _cluster(settings, names, edges, merge, ingest.column_stats)
    t_cluster = time.perf_counter()

    survivor_set = set(clustering.survivors)
    survivors = [n for n in names_in if n in survivor_set]
    io.write_parquet(out.edges, _edges_table(names, edges, a_from_b, b_from_a, merge))
    io.write_parquet(out.clusters, _clusters_table(clustering, _step_figures(names, edges.i, edges.j, a_from_b, b_from_a)))
    summary = _summary(settings, Path(survivors_in).parent.name, names, survivors, found, merge, clustering, {
        "read": round(found.read_seconds, 3),
        "pairs": round(edges.seconds, 3),  # with shards: summed over their jobs
        "predictability": round(t_predict - t_pairs, 3),
        "cluster": round(t_cluster - t_predict, 3),
    })
    io.write_lines(out.survivors, survivors)
    summary[checkpoints.RECORD_KEY] = checkpoints.record([out.edges, out.clusters, out.survivors])
    io.write_json(out.summary, summary)  # last: what the summary records is on disk
    LOG.info("%s: %d of %d descriptors survive (%.1f s)", pass_name, len(survivors), len(names), time.perf_counter() - t0)
    return summary


def _in_pair_order(edges: EdgeResult) -> EdgeResult:
    """The edges in (i, j) order, the same however the blocks were computed, similarities clipped at 1.

    |rho|, normalized HSIC and RDC are at most 1; float32 products can round a value of 1 up by a few
    1e-6 (RDC on Mordred's E-state pairs: 1.0000063). Clipped after thresholding, so no link changes.
    """
    order = np.lexsort((edges.j, edges.i))
    edges.i, edges.j, edges.similarity = edges.i[order], edges.j[order], np.minimum(edges.similarity[order], 1.0)
    return edges


def _cluster(settings: PassSettings, names: Sequence[str], edges: EdgeResult, merge: np.ndarray, column_stats: Path):
    """Leiden on the merges, representatives chosen with keep / prefer and the ingest statistics."""
    stats = pq.read_table(column_stats, columns=["column", "missing_ratio", "robust_variance"]).to_pydict()
    missing = {c: (m if m is not None else 0.0) for c, m in zip(stats["column"], stats["missing_ratio"])}
    rvar = {c: (v if v is not None else 0.0) for c, v in zip(stats["column"], stats["robust_variance"])}
    return cluster_descriptors(
        names, edges.i[merge], edges.j[merge], edges.similarity[merge], settings.threshold,
        keep=settings.keep, prefer=settings.prefer,
        missing_ratio=missing, robust_variance=rvar, prefer_known=settings.prefer_known,
    )


def _edges_table(names: Sequence[str], edges: EdgeResult, a_from_b: np.ndarray, b_from_a: np.ndarray,
                 merge: np.ndarray) -> pa.Table:
    return pa.table({
        "descriptor_a": pa.array([names[k] for k in edges.i], type=pa.string()),
        "descriptor_b": pa.array([names[k] for k in edges.j], type=pa.string()),
        "similarity": pa.array(edges.similarity, type=pa.float64()),
        "a_from_b": pa.array(a_from_b, type=pa.float64()),
        "b_from_a": pa.array(b_from_a, type=pa.float64()),
        "is_merge": pa.array(merge, type=pa.bool_()),
    })


def _clusters_table(clustering, figure_of: dict[tuple[str, str], float]) -> pa.Table:
    return pa.table({
        "descriptor": pa.array(clustering.names, type=pa.string()),
        "cluster": pa.array(clustering.cluster, type=pa.int64()),
        "representative": pa.array(clustering.representative, type=pa.string()),
        "similarity": pa.array(clustering.similarity, type=pa.float64()),
        "predictability": pa.array([figure_of.get((n, r), 1.0) for n, r in zip(clustering.names, clustering.representative)],
                                   type=pa.float64()),
        "is_representative": pa.array([n == r for n, r in zip(clustering.names, clustering.representative)]),
        "community": pa.array(clustering.community, type=pa.int64()),
        "centrality": pa.array(clustering.centrality, type=pa.float64()),
    })


def _summary(settings: PassSettings, input_stage: str, names: Sequence[str], survivors: Sequence[str], found: PassEdges,
             merge: np.ndarray, clustering, seconds: dict[str, float]) -> dict:
    edges = found.edges
    sizes = np.bincount(np.asarray(clustering.cluster, dtype=np.int64)) if names else np.zeros(0, dtype=np.int64)
    return {
        "pass": settings.name,
        "input_stage": input_stage,
        "threshold": settings.threshold,
        "descriptors_in": len(names),
        "descriptors_out": len(survivors),
        "removed": len(names) - len(survivors),
        "rows": found.rows,
        "edges": int(len(edges.i)),
        "merges": int(merge.sum()),
        "refused_links": int((~merge).sum()),
        "min_predictability": settings.min_predictability,
        "clusters": int(len(sizes)),
        "cluster_size_max": int(sizes.max()) if len(sizes) else 0,
        "cluster_size_counts": {str(int(s)): int(c) for s, c in zip(*np.unique(sizes, return_counts=True))} if len(sizes) else {},
        "similarity_histogram": {
            "bin_lower_edges": list(edges.hist_edges),
            "pair_counts": edges.hist_counts,
            "values": found.histogram_values,
        },
        "backend": found.backend,
        "dtype": settings.dtype,
        "block_columns": edges.block_columns,
        "blocks": edges.n_blocks,
        "features": edges.features,
        "settings": dict(settings.section),
        "seconds": seconds,
        "peak_rss_mb": round(peak_rss_mib(), 1),
    }
