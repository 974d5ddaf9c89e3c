"""Threshold graph -> Leiden communities -> survivors and who stands for whom.

The edges given here are a pass's merges: pairs with similarity >= threshold whose two descriptors each
predict the other to at least the pass's ``min_predictability`` (passes.py filters the links; the
refused ones never reach Leiden or the survivor choice, so they shape no community and no centrality).

Guarantees (tested):
(a) every removed descriptor has similarity >= threshold with its representative, and each of the two
    predicts the other to at least ``min_predictability``;
(b) no two survivors are joined by a merge, unless both are in ``keep`` (two survivors may share a
    refused link);
(c) representatives are chosen by: in ``keep``, earliest in ``prefer``, most central (highest summed
    similarity inside its Leiden community), fewer missing values, higher robust variance, name;
(d) nothing depends on column order: nodes are ordered by name before Leiden runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import igraph as ig
import leidenalg
import numpy as np


@dataclass
class Clustering:
    """Per descriptor (sorted by name): representative, similarity to it, group id, Leiden community."""

    names: list[str]
    representative: list[str]
    similarity: list[float]
    cluster: list[int]
    community: list[int]
    centrality: list[float]

    @property
    def survivors(self) -> list[str]:
        return [n for n, r in zip(self.names, self.representative) if n == r]


def leiden_communities(n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray, resolution: float, seed: int) -> list[int]:
    """CPM Leiden communities of the weighted graph on nodes 0..n-1 (seeded, deterministic)."""
    if len(i) == 0:
        return list(range(n))
    graph = ig.Graph(n=n, edges=list(zip(i.tolist(), j.tolist())), directed=False)
    graph.es["weight"] = w.tolist()
    partition = leidenalg.find_partition(
        graph,
        leidenalg.CPMVertexPartition,
        weights="weight",
        resolution_parameter=resolution,
        n_iterations=-1,
        seed=seed % (2**31 - 1),
    )
    return list(partition.membership)


def cluster_descriptors(
    names: Sequence[str],
    i: np.ndarray,
    j: np.ndarray,
    similarity: np.ndarray,
    threshold: float,
    seed: int,
    keep: Sequence[str] = (),
    prefer: Sequence[str] = (),
    missing_ratio: Mapping[str, float] | None = None,
    robust_variance: Mapping[str, float] | None = None,
) -> Clustering:
    """Choose survivors and representatives from the edges (pairs i, j with similarity >= threshold)."""
    # Work in name order so that column order cannot change anything.
    order = sorted(range(len(names)), key=lambda k: names[k])
    pos = np.empty(len(names), dtype=np.int64)
    pos[order] = np.arange(len(names))
    sorted_names = [names[k] for k in order]
    a, b = pos[np.asarray(i, dtype=np.int64)], pos[np.asarray(j, dtype=np.int64)]
    a, b = np.minimum(a, b), np.maximum(a, b)  # orient every edge by name too: sums run in one order
    sim = np.asarray(similarity, dtype=np.float64)
    edge_order = np.lexsort((b, a))
    a, b, sim = a[edge_order], b[edge_order], sim[edge_order]
    n = len(sorted_names)

    community = leiden_communities(n, a, b, sim, threshold, seed)
    adjacency: list[dict[int, float]] = [{} for _ in range(n)]
    centrality = np.zeros(n)
    for u, v, s in zip(a.tolist(), b.tolist(), sim.tolist()):
        adjacency[u][v] = adjacency[v][u] = s
        if community[u] == community[v]:
            centrality[u] += s
            centrality[v] += s

    keep_set = set(keep)
    prefer_rank = {name: r for r, name in enumerate(prefer)}
    missing = missing_ratio or {}
    rvar = robust_variance or {}

    def priority(k: int) -> tuple:
        name = sorted_names[k]
        return (
            name not in keep_set,
            prefer_rank.get(name, len(prefer_rank)),
            -round(float(centrality[k]), 9),
            missing.get(name, 0.0),
            -rvar.get(name, 0.0),
            name,
        )

    ranked = sorted(range(n), key=priority)
    rank_of = np.empty(n, dtype=np.int64)
    rank_of[ranked] = np.arange(n)

    # Phase 1: inside each community, the best remaining member claims its remaining neighbours.
    tentative: list[int] = []
    claimed = np.zeros(n, dtype=bool)
    for k in ranked:
        if claimed[k]:
            continue
        tentative.append(k)
        claimed[k] = True
        for v in adjacency[k]:
            if community[v] == community[k] and sorted_names[v] not in keep_set:
                claimed[v] = True

    # Phase 2: a maximal independent set, trying keep members, then the phase-1 winners, then the rest,
    # each group in priority order; a node survives unless it touches a survivor (keep pairs excepted).
    first = set(tentative)
    sequence = (
        [k for k in ranked if sorted_names[k] in keep_set]
        + [k for k in tentative if sorted_names[k] not in keep_set]
        + [k for k in ranked if k not in first and sorted_names[k] not in keep_set]
    )
    survivor = np.zeros(n, dtype=bool)
    for k in sequence:
        is_keep = sorted_names[k] in keep_set
        if is_keep or not any(survivor[v] for v in adjacency[k]):
            survivor[k] = True

    # Every other node joins an adjacent survivor: same community first, then most similar, then priority.
    representative = list(range(n))
    sim_to_rep = [1.0] * n
    for k in range(n):
        if survivor[k]:
            continue
        choices = [v for v in adjacency[k] if survivor[v]]
        best = min(choices, key=lambda v: (community[v] != community[k], -adjacency[k][v], rank_of[v]))
        representative[k], sim_to_rep[k] = best, adjacency[k][best]

    group_id = {k: g for g, k in enumerate(k for k in range(n) if survivor[k])}
    return Clustering(
        names=sorted_names,
        representative=[sorted_names[r] for r in representative],
        similarity=sim_to_rep,
        cluster=[group_id[r] for r in representative],
        community=[int(c) for c in community],
        centrality=[float(c) for c in centrality],
    )
