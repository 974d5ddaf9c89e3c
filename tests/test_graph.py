"""Threshold graph -> Leiden -> survivors (graph.cluster_descriptors): the documented guarantees (a)-(d)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from descriptor_pipeline.graph import (
    CONSENSUS_RUNS, KNOWN_TOLERANCE, Clustering, agreement, cluster_descriptors, consensus_communities,
    leiden_communities,
)
from descriptor_pipeline.known import KNOWN, known_rank

THRESHOLD = 0.9


# ---- helpers ------------------------------------------------------------------------------------


def edge_map(names: Sequence[str], i, j, sim) -> dict[frozenset[str], float]:
    return {frozenset((names[a], names[b])): float(s) for a, b, s in zip(i, j, sim)}


def check_guarantees(
    names: Sequence[str], i, j, sim, threshold: float, keep: Sequence[str], c: Clustering
) -> None:
    """(a), (b) and the bookkeeping every caller relies on, checked from the edge list alone."""
    edges = edge_map(names, i, j, sim)
    assert c.names == sorted(names)
    survivors = {n for n, r in zip(c.names, c.representative) if n == r}
    assert set(c.survivors) == survivors
    assert set(keep) & set(names) <= survivors, "keep members must survive"
    for name, rep, s in zip(c.names, c.representative, c.similarity):
        assert rep in survivors, f"{name} stands behind {rep}, which is not a survivor"
        if name == rep:
            assert s == 1.0
            continue
        # (a): a removed descriptor is linked to its representative, and the reported similarity is that edge's
        edge = edges.get(frozenset((name, rep)))
        assert edge is not None, f"{name} -> {rep} without an edge"
        assert edge >= threshold
        assert s == edge
    # (b): no edge between two survivors unless both are kept
    for pair, s in edges.items():
        if s >= threshold and pair <= survivors:
            assert pair <= set(keep), f"edge between survivors {sorted(pair)} (similarity {s})"
    # cluster ids: one per survivor, 0..m-1, shared exactly by the descriptors with the same representative
    by_rep: dict[str, set[int]] = {}
    for rep, cl in zip(c.representative, c.cluster):
        by_rep.setdefault(rep, set()).add(cl)
    assert all(len(v) == 1 for v in by_rep.values())
    assert sorted(next(iter(v)) for v in by_rep.values()) == list(range(len(survivors)))


def as_tuple(c: Clustering) -> tuple:
    return (c.names, c.representative, c.similarity, c.cluster, c.community, c.centrality)


def planted_cliques(sizes: Sequence[int], seed: int, low: float = 0.92) -> tuple[list[str], list[list[str]], np.ndarray, np.ndarray, np.ndarray]:
    """Disjoint cliques with similarities in [low, 1]; names interleaved so groups are not contiguous by name."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    labels = rng.permutation(n)
    names = [f"d{k:04d}" for k in labels]
    groups, i, j, s = [], [], [], []
    start = 0
    for size in sizes:
        members = list(range(start, start + size))
        groups.append([names[k] for k in members])
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                i.append(members[x])
                j.append(members[y])
                s.append(rng.uniform(low, 1.0))
        start += size
    return names, groups, np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64), np.asarray(s)


# ---- random graphs (hypothesis) -----------------------------------------------------------------


@st.composite
def graphs(draw):
    n = draw(st.integers(1, 22))
    names = draw(st.lists(st.text(alphabet="abcdefxyz_0123", min_size=1, max_size=5), min_size=n, max_size=n, unique=True))
    pairs = [(a, b) for a in range(n) for b in range(a + 1, n)]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=len(pairs))) if pairs else []
    sims = draw(st.lists(st.sampled_from([THRESHOLD, 0.91, 0.93, 0.95, 0.97, 0.99, 1.0]) | st.floats(THRESHOLD, 1.0),
                         min_size=len(chosen), max_size=len(chosen)))
    keep = draw(st.lists(st.sampled_from(names), unique=True, max_size=min(3, n)))
    prefer = draw(st.lists(st.sampled_from(names), unique=True, max_size=min(4, n)))
    missing = {nm: draw(st.sampled_from([0.0, 0.1, 0.3])) for nm in names}
    rvar = {nm: draw(st.sampled_from([0.5, 1.0, 2.0])) for nm in names}
    i = np.asarray([a for a, _ in chosen], dtype=np.int64)
    j = np.asarray([b for _, b in chosen], dtype=np.int64)
    return names, i, j, np.asarray(sims, dtype=np.float64), keep, prefer, missing, rvar


HYPO = settings(max_examples=80, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@HYPO
@given(graphs())
def test_guarantees_on_random_graphs(graph) -> None:
    names, i, j, sim, keep, prefer, missing, rvar = graph
    c = cluster_descriptors(names, i, j, sim, THRESHOLD, keep=keep, prefer=prefer, missing_ratio=missing, robust_variance=rvar)
    check_guarantees(names, i, j, sim, THRESHOLD, keep, c)


@HYPO
@given(graphs(), st.randoms(use_true_random=False))
def test_column_order_does_not_matter(graph, rnd) -> None:
    """(d): permuted names, the edge list mapped accordingly (reoriented and reordered): identical result."""
    names, i, j, sim, keep, prefer, missing, rvar = graph
    kwargs = dict(keep=keep, prefer=prefer, missing_ratio=missing, robust_variance=rvar)
    base = cluster_descriptors(names, i, j, sim, THRESHOLD, **kwargs)
    perm = list(range(len(names)))
    rnd.shuffle(perm)  # new position p holds old column perm[p]
    new_pos = np.empty(len(names), dtype=np.int64)
    new_pos[perm] = np.arange(len(names))
    names2 = [names[k] for k in perm]
    a, b = new_pos[i], new_pos[j]
    flip = np.asarray([rnd.random() < 0.5 for _ in range(len(a))], dtype=bool)
    a, b = np.where(flip, b, a), np.where(flip, a, b)
    order = list(range(len(a)))
    rnd.shuffle(order)
    other = cluster_descriptors(names2, a[order], b[order], sim[order], THRESHOLD, **kwargs)
    assert as_tuple(other) == as_tuple(base)
    again = cluster_descriptors(names, i, j, sim, THRESHOLD, **kwargs)
    assert as_tuple(again) == as_tuple(base)  # deterministic


@HYPO
@given(graphs())
def test_agreement_is_what_every_leiden_run_agrees_on(graph) -> None:
    """Each community of :func:`agreement` lies inside one community of every run (seeds 0..7), and two
    nodes linked by an edge every run keeps inside a community share one; nothing else joins them."""
    names, i, j, sim, *_ = graph
    n = len(names)
    together = np.asarray(agreement(n, i, j, sim, THRESHOLD))
    runs = np.asarray([leiden_communities(n, i, j, sim, THRESHOLD, seed) for seed in range(CONSENSUS_RUNS)])
    for c in set(together.tolist()):
        members = np.flatnonzero(together == c)
        assert all(len(set(run[members].tolist())) == 1 for run in runs)
    always = [(a, b) for a, b in zip(i.tolist(), j.tolist()) if (runs[:, a] == runs[:, b]).all()]
    assert len(set(together.tolist())) == n - forest_size(n, always)


def forest_size(n: int, edges: list[tuple[int, int]]) -> int:
    """How many of ``edges`` join two components (n minus this is the number of components)."""
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    joined = 0
    for a, b in edges:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[ra] = rb
            joined += 1
    return joined


@HYPO
@given(graphs())
def test_consensus_clusters_each_component_on_its_own(graph) -> None:
    """(e): no community spans two components; a complete component is one community; any other component
    gets the agreement of the runs on that component alone."""
    names, i, j, sim, *_ = graph
    n = len(names)
    consensus = np.asarray(consensus_communities(n, i, j, sim, THRESHOLD))
    assert sorted(set(consensus.tolist()), key=consensus.tolist().index) == list(range(len(set(consensus.tolist()))))
    import igraph as ig

    component = np.asarray(ig.Graph(n=n, edges=list(zip(i.tolist(), j.tolist()))).connected_components().membership)
    for c in set(component.tolist()):
        nodes = np.flatnonzero(component == c)
        inside = np.isin(i, nodes)
        assert len(set(consensus[nodes].tolist())) == 1 or inside.sum() != nodes.size * (nodes.size - 1) // 2
        local = {v: k for k, v in enumerate(nodes.tolist())}
        a = np.asarray([local[v] for v in i[inside].tolist()], dtype=np.int64)
        b = np.asarray([local[v] for v in j[inside].tolist()], dtype=np.int64)
        if inside.sum() and inside.sum() != nodes.size * (nodes.size - 1) // 2:
            alone = agreement(nodes.size, a, b, sim[inside], THRESHOLD)
            mine = consensus[nodes].tolist()
            assert [mine.index(x) for x in mine] == [alone.index(x) for x in alone]  # the same partition
        assert not set(consensus[nodes].tolist()) & set(consensus[component != c].tolist())


# ---- planted graphs -----------------------------------------------------------------------------


def test_planted_disjoint_cliques_are_recovered_exactly() -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 8, size=60).tolist()
    names, groups, i, j, s = planted_cliques(sizes, seed=1)
    c = cluster_descriptors(names, i, j, s, THRESHOLD)
    check_guarantees(names, i, j, s, THRESHOLD, (), c)
    rep_of = dict(zip(c.names, c.representative))
    assert len(c.survivors) == len(groups)
    for group in groups:
        reps = {rep_of[m] for m in group}
        assert len(reps) == 1 and reps <= set(group), group


def test_planted_cliques_with_weak_bridges_keep_the_guarantees() -> None:
    """Cliques joined by a few bridges just at the threshold: guarantees hold, groups are not merged."""
    names, groups, i, j, s = planted_cliques([5, 4, 6, 3, 5, 4], seed=2, low=0.95)
    index = {n: k for k, n in enumerate(names)}
    bridges = [(groups[0][0], groups[1][0]), (groups[1][1], groups[2][0]), (groups[3][0], groups[4][2]), (groups[4][0], groups[5][1])]
    bi = np.asarray([index[x] for x, _ in bridges])
    bj = np.asarray([index[y] for _, y in bridges])
    i2, j2 = np.concatenate([i, np.minimum(bi, bj)]), np.concatenate([j, np.maximum(bi, bj)])
    s2 = np.concatenate([s, np.full(len(bridges), THRESHOLD)])
    c = cluster_descriptors(names, i2, j2, s2, THRESHOLD)
    check_guarantees(names, i2, j2, s2, THRESHOLD, (), c)
    group_of = {m: g for g, members in enumerate(groups) for m in members}
    communities = {}
    for name, comm in zip(c.names, c.community):
        communities.setdefault(group_of[name], set()).add(comm)
    assert all(len(v) == 1 for v in communities.values())  # Leiden (CPM) keeps each clique together
    assert len({next(iter(v)) for v in communities.values()}) == len(groups)  # and apart


def test_chain_without_transitive_edge() -> None:
    """a-b and b-c linked, a-c not: whoever survives, nobody is represented by a descriptor it is not linked to."""
    names = ["a", "b", "c"]
    i, j, s = np.array([0, 1]), np.array([1, 2]), np.array([0.99, 0.99])
    c = cluster_descriptors(names, i, j, s, THRESHOLD)
    check_guarantees(names, i, j, s, THRESHOLD, (), c)


def test_no_edges_everyone_survives() -> None:
    names = ["z", "b", "a"]
    empty = np.zeros(0, dtype=np.int64)
    c = cluster_descriptors(names, empty, empty, np.zeros(0), THRESHOLD)
    assert c.names == ["a", "b", "z"] and c.survivors == ["a", "b", "z"]
    assert c.cluster == [0, 1, 2] and c.similarity == [1.0, 1.0, 1.0]


# ---- (c) representative choice ------------------------------------------------------------------


def known_case(weak: float) -> dict:
    """A 4-clique of a size family: VE2_Dt most central; MolWt's links weaker by ``weak``."""
    names = ["VE2_Dt", "MolWt", "Xp_1", "ATS0dv"]
    sims = {(0, 1): 0.99 - weak, (0, 2): 0.99, (0, 3): 0.99, (1, 2): 0.99 - weak, (1, 3): 0.99 - weak, (2, 3): 0.97}
    i, j = np.array([a for a, _ in sims]), np.array([b for _, b in sims])
    return dict(names=names, i=i, j=j, similarity=np.array(list(sims.values())), threshold=THRESHOLD)


def test_a_known_descriptor_represents_its_community_within_the_tolerance() -> None:
    """(c): MolWt's summed similarity 2.91 against VE2_Dt's 2.95 (1.4 % less): MolWt stands for the clique
    with prefer_known, VE2_Dt without; 0.08 weaker per link (2.73 against 2.89, 5.5 % less) and VE2_Dt
    stays; prefer first."""
    assert cluster_descriptors(**known_case(0.02), prefer_known=True).survivors == ["MolWt"]
    assert cluster_descriptors(**known_case(0.02)).survivors == ["VE2_Dt"]
    assert 3 * 0.91 < (1 - KNOWN_TOLERANCE) * (0.91 + 2 * 0.99) < 3 * 0.93
    assert cluster_descriptors(**known_case(0.08), prefer_known=True).survivors == ["VE2_Dt"]
    assert cluster_descriptors(**known_case(0.06), prefer_known=True).survivors == ["MolWt"]
    assert cluster_descriptors(**known_case(0.02), prefer_known=True, prefer=["Xp_1"]).survivors == ["Xp_1"]


def test_known_names_match_with_a_prefix_and_in_list_order() -> None:
    assert known_rank("rdkit:MolWt") == known_rank("MolWt") == known_rank("x.MolWt") == 0
    assert known_rank("MW") < known_rank("nHeavyAtom") < known_rank("TPSA") < known_rank("nBase")
    assert known_rank("VE2_Dt") == known_rank("molwt") == len(KNOWN)


LEVELS = ["keep", "prefer", "centrality", "missing", "variance", "name"]


def clique_case(level: str) -> tuple[dict, str]:
    """A 3-clique {a, m, z} where every criterion before ``level`` ties, ``level`` favours the winner, and
    every criterion after ``level`` favours "a" (name included), so the result shows both that the
    criterion works and that it comes before all later ones. Returns (cluster_descriptors kwargs, winner).
    """
    winner = "a" if level == "name" else "z"
    after = LEVELS[LEVELS.index(level) + 1:]
    sims = {("a", "m"): 0.97, ("a", "z"): 0.97, ("m", "z"): 0.97}
    keep: list[str] = []
    prefer: list[str] = []
    missing = {"a": 0.1, "m": 0.1, "z": 0.1}
    rvar = {"a": 1.0, "m": 1.0, "z": 1.0}
    if level == "keep":
        keep = ["z"]
    if level == "prefer":
        prefer = ["z", "a"]  # both preferred: the order decides
    if level == "centrality":
        sims = {("a", "m"): 0.95, ("a", "z"): 0.99, ("m", "z"): 0.99}
    if level == "missing":
        missing["z"] = 0.0
    if level == "variance":
        rvar["z"] = 5.0
    if "prefer" in after:
        prefer = ["a"]
    if "centrality" in after:
        sims = {("a", "m"): 0.99, ("a", "z"): 0.99, ("m", "z"): 0.95}
    if "missing" in after:
        missing["a"] = 0.0
    if "variance" in after:
        rvar["a"] = 5.0
    names = ["m", "z", "a"]
    index = {n: k for k, n in enumerate(names)}
    i = np.asarray([min(index[x], index[y]) for x, y in sims])
    j = np.asarray([max(index[x], index[y]) for x, y in sims])
    kwargs = dict(names=names, i=i, j=j, similarity=np.asarray(list(sims.values())), threshold=THRESHOLD,
                  keep=keep, prefer=prefer, missing_ratio=missing, robust_variance=rvar)
    return kwargs, winner


@pytest.mark.parametrize("level", LEVELS)
def test_representative_choice_order(level: str) -> None:
    kwargs, winner = clique_case(level)
    c = cluster_descriptors(**kwargs)
    check_guarantees(kwargs["names"], kwargs["i"], kwargs["j"], kwargs["similarity"], THRESHOLD, kwargs["keep"], c)
    assert len(set(c.community)) == 1  # the clique is one Leiden community
    assert c.survivors == [winner]
    assert c.representative == [winner] * 3


@pytest.mark.parametrize("level", LEVELS[:-1])
def test_representative_choice_single_criterion(level: str) -> None:
    """Only ``level`` differs from the all-equal clique: the favoured "z" wins against name order."""
    names = ["a", "m", "z"]
    i, j, s = np.array([0, 0, 1]), np.array([1, 2, 2]), np.full(3, 0.97)
    kwargs = dict(keep=[], prefer=[], missing_ratio={n: 0.1 for n in names}, robust_variance={n: 1.0 for n in names})
    if level == "keep":
        kwargs["keep"] = ["z"]
    elif level == "prefer":
        kwargs["prefer"] = ["z"]
    elif level == "centrality":
        s = np.array([0.95, 0.99, 0.99])  # a-m weaker: z has the largest summed similarity
    elif level == "missing":
        kwargs["missing_ratio"]["z"] = 0.05
    elif level == "variance":
        kwargs["robust_variance"]["z"] = 1.5
    c = cluster_descriptors(names, i, j, s, THRESHOLD, **kwargs)
    assert c.survivors == ["z"]


def test_two_kept_members_both_survive_and_others_join_the_most_similar() -> None:
    """Both kept members survive (their edge allowed); "a" joins the more similar one, "m", although
    "z" ranks first (preferred): similarity comes before priority when choosing among adjacent survivors."""
    names = ["a", "m", "z"]
    i, j, s = np.array([0, 0, 1]), np.array([1, 2, 2]), np.array([0.99, 0.95, 0.97])
    c = cluster_descriptors(names, i, j, s, THRESHOLD, keep=["m", "z"], prefer=["z"])
    check_guarantees(names, i, j, s, THRESHOLD, ["m", "z"], c)
    assert c.survivors == ["m", "z"]
    assert c.representative[0] == "m" and c.similarity[0] == 0.99
