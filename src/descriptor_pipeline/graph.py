"""Threshold graph -> Leiden communities -> survivors and who stands for whom.

The edges given here are a pass's merges: pairs with similarity >= threshold whose two descriptors each
predict the other to at least the pass's ``min_predictability`` (passes.py filters the links; the
refused ones never reach Leiden or the survivor choice, so they shape no community and no centrality).

Guarantees (tested):
(a) every removed descriptor has similarity >= threshold with its representative, and each of the two
    predicts the other to at least ``min_predictability``;
(b) no two survivors are joined by a merge, unless both are in ``keep`` (two survivors may share a
    refused link);
(c) representatives are chosen by: in ``keep``, earliest in ``prefer``, with ``prefer_known`` a descriptor
    of known.KNOWN (earliest first) whose centrality is within KNOWN_TOLERANCE of its community's most
    central member, most central (highest summed similarity inside its Leiden community), fewer missing
    values, higher robust variance, name;
(d) nothing depends on column order: nodes are ordered by name before Leiden runs;
(e) nothing depends on the seed: the communities are those on which CONSENSUS_RUNS Leiden runs, with
    seeds 0, 1, ... of their own, all agree (a function of the graph; the config seed varies the row
    sample and the random features, not how one graph is clustered).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import igraph as ig
import leidenalg
import numpy as np

from descriptor_pipeline.known import KNOWN, known_rank


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


CONSENSUS_RUNS = 8  # Leiden runs whose agreement makes the communities
KNOWN_TOLERANCE = 0.05  # a known descriptor represents its community when this close to the most central


def _weighted_graph(n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray) -> ig.Graph:
    graph = ig.Graph(n=n, edges=list(zip(i.tolist(), j.tolist())), directed=False)
    graph.es["weight"] = w.tolist()
    return graph


def leiden_communities(n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray, resolution: float, seed: int) -> list[int]:
    """CPM Leiden communities of the weighted graph on nodes 0..n-1 (one run, seeded, deterministic)."""
    if len(i) == 0:
        return list(range(n))
    return _leiden(_weighted_graph(n, i, j, w), resolution, seed)


def _leiden(graph: ig.Graph, resolution: float, seed: int) -> list[int]:
    partition = leidenalg.find_partition(
        graph,
        leidenalg.CPMVertexPartition,
        weights="weight",
        resolution_parameter=resolution,
        n_iterations=-1,
        seed=seed % (2**31 - 1),
    )
    return list(partition.membership)


def agreement(n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray, resolution: float,
              runs: int = CONSENSUS_RUNS) -> list[int]:
    """The communities every one of ``runs`` Leiden runs (seeds 0 .. runs-1) agrees on: the connected
    components of the edges whose two ends share a community in every run, numbered by first node."""
    together = np.ones(len(i), dtype=bool)
    graph = _weighted_graph(n, i, j, w)
    for seed in range(runs):
        member = np.asarray(_leiden(graph, resolution, seed))
        together &= member[i] == member[j]
    graph = ig.Graph(n=n, edges=np.column_stack([i[together], j[together]]).tolist(), directed=False)
    first: dict[int, int] = {}
    return [first.setdefault(c, len(first)) for c in graph.connected_components().membership]


def consensus_communities(n: int, i: np.ndarray, j: np.ndarray, w: np.ndarray, resolution: float) -> list[int]:
    """Communities of the merge graph that do not depend on a seed, numbered by first node.

    One Leiden run picks one of many partitions of nearly equal quality, and which one depends on its
    seed; what all runs agree on (:func:`agreement`) is a property of the graph. Each connected component
    is clustered on its own (CPM adds up over components, and a community is connected). A complete
    component is one community without a run: every edge weighs at least the resolution, so any split
    lowers the CPM quality (the dense groups of rescaled copies that concatenated descriptor programs
    make). A node the runs place in different communities ends alone (or with the nodes it always goes
    with), and the survivor choice then attaches it to a survivor it is linked to.
    """
    label = np.arange(n)
    if len(i):
        component = np.asarray(ig.Graph(n=n, edges=np.column_stack([i, j]).tolist(), directed=False)
                               .connected_components().membership)
        nodes_by = np.argsort(component, kind="stable")
        node_bounds = np.searchsorted(component[nodes_by], np.arange(component.max() + 2))
        edges_by = np.argsort(component[i], kind="stable")
        edge_bounds = np.searchsorted(component[i][edges_by], np.arange(component.max() + 2))
        local = np.empty(n, dtype=np.int64)  # a node's index inside its component
        for c in range(component.max() + 1):
            nodes = nodes_by[node_bounds[c]:node_bounds[c + 1]]
            edges = edges_by[edge_bounds[c]:edge_bounds[c + 1]]
            k = nodes.size
            if edges.size == k * (k - 1) // 2:
                label[nodes] = nodes[0]
                continue
            local[nodes] = np.arange(k)
            inner = np.asarray(agreement(k, local[i[edges]], local[j[edges]], w[edges], resolution))
            label[nodes] = nodes[np.unique(inner, return_index=True)[1]][inner]
    first: dict[int, int] = {}
    return [first.setdefault(int(c), len(first)) for c in label]


def cluster_descriptors(
    names: Sequence[str],
    i: np.ndarray,
    j: np.ndarray,
    similarity: np.ndarray,
    threshold: float,
    keep: Sequence[str] = (),
    prefer: Sequence[str] = (),
    missing_ratio: Mapping[str, float] | None = None,
    robust_variance: Mapping[str, float] | None = None,
    prefer_known: bool = False,
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

    community = consensus_communities(n, a, b, sim, threshold)
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
    most_central: dict[int, float] = {}
    for k in range(n):
        most_central[community[k]] = max(most_central.get(community[k], 0.0), float(centrality[k]))

    def known(k: int) -> int:
        """A known descriptor's rank where it is central enough (an unlinked one stands only for itself)."""
        best = most_central[community[k]]
        if not prefer_known or best == 0.0 or centrality[k] < (1.0 - KNOWN_TOLERANCE) * best:
            return len(KNOWN)
        return known_rank(sorted_names[k])

    def priority(k: int) -> tuple:
        name = sorted_names[k]
        return (
            name not in keep_set,
            prefer_rank.get(name, len(prefer_rank)),
            known(k),
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
