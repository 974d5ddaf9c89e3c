"""passes.run_pass end to end on a planted sample written with pyarrow (no Snakemake, no ingest).

Planted structure (x uniform on [-1, 1] for the nonlinear groups):
- monotone groups: every member a strictly monotone function of one base column (|rho| = 1, or just
  below 1 where a member has missing values) -> merged by the Spearman pass;
- nonlinear groups x, x^2, sin(pi x): |rho|(x, x^2) ~ 0, |rho|(x, sin) ~ 0.75, so they survive Spearman
  at 0.95, and RDC(x, x^2), RDC(x, sin) > 0.99 -> merged by the RDC pass;
- independent columns: never merged.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import scipy.stats

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import StageFiles
from descriptor_pipeline.passes import run_pass, run_shard

N_ROWS = 1500

CONFIG = {
    "seed": 42,
    "backend": "numpy",
    "dtype": "float32",
    "block_memory_mb": 256,
    "keep": [],
    "prefer": [],
    "passes": {
        # min_predictability 0: every link is a merge (the predictability check has tests of its own)
        "spearman": {"enabled": True, "threshold": 0.95, "max_rows": 0, "min_predictability": 0.0},
        "hsic": {"enabled": True, "threshold": 0.8, "n_features": 64, "max_rows": 5000, "min_predictability": 0.0},
        "rdc": {"enabled": True, "threshold": 0.9, "k": 20, "s": 1.0 / 6.0, "max_rows": 5000, "min_predictability": 0.0},
    },
}

CLUSTER_COLUMNS = ["descriptor", "cluster", "representative", "similarity", "predictability", "is_representative",
                   "community", "centrality"]
EDGE_COLUMNS = ["descriptor_a", "descriptor_b", "similarity", "a_from_b", "b_from_a", "is_merge"]


def planted_sample() -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    """Columns (NaN = missing) and the planted groups by kind."""
    rng = np.random.default_rng(2024)
    cols: dict[str, np.ndarray] = {}
    groups: dict[str, list[str]] = {"monotone": [], "nonlinear": [], "independent": []}
    z = rng.standard_normal(N_ROWS)
    w = rng.uniform(0.05, 3.0, N_ROWS)
    mono = {
        "mono1_z": z, "mono1_exp": np.exp(z), "mono1_cube": z**3, "mono1_neg": -2.0 * z + 1.0, "mono1_round": np.round(z, 2),
        "mono2_w": w, "mono2_log": np.log(w), "mono2_sqrt": np.sqrt(w), "mono2_inv": 1.0 / w,
    }
    cols.update(mono)
    groups["monotone"] = [["mono1_z", "mono1_exp", "mono1_cube", "mono1_neg", "mono1_round"], ["mono2_w", "mono2_log", "mono2_sqrt", "mono2_inv"]]
    for g in (1, 2, 3):
        x = rng.uniform(-1.0, 1.0, N_ROWS)
        members = {f"nl{g}_x": x, f"nl{g}_sq": x**2, f"nl{g}_sin": np.sin(np.pi * x)}
        cols.update(members)
        groups["nonlinear"].append(list(members))
    independent = {
        "ind_normal": rng.standard_normal(N_ROWS),
        "ind_uniform": rng.uniform(size=N_ROWS),
        "ind_expo": rng.exponential(size=N_ROWS),
        "ind_counts": rng.poisson(3.0, N_ROWS).astype(float),
    }
    cols.update(independent)
    groups["independent"] = [[name] for name in independent]
    # missing values: a monotone member and an independent column
    cols["mono1_exp"] = np.where(rng.random(N_ROWS) < 0.03, np.nan, cols["mono1_exp"])
    cols["ind_counts"] = np.where(rng.random(N_ROWS) < 0.05, np.nan, cols["ind_counts"])
    return cols, groups


def robust_variance(v: np.ndarray) -> float:
    """Variance of the present values winsorized at the 1st and 99th percentiles."""
    v = v[~np.isnan(v)]
    lo, hi = np.percentile(v, [1, 99])
    return float(np.var(np.clip(v, lo, hi)))


def write_inputs(directory: Path, order: list[str], cols: dict[str, np.ndarray], survivors_order: list[str]) -> dict[str, str]:
    """An ingest folder: the sample (columns in ``order``, plus a row_id that is no descriptor), the survivors, the column statistics."""
    directory.mkdir(parents=True, exist_ok=True)
    files = StageFiles(directory)
    arrays = {"row_id": pa.array(np.arange(N_ROWS))}
    for name in order:
        v = cols[name]
        # one column stores missing values as Arrow nulls, the others as NaN: both must read as missing
        arrays[name] = pa.array(v, mask=np.isnan(v)) if name == "ind_counts" else pa.array(v)
    pq.write_table(pa.table(arrays), files.sample)
    files.survivors.write_text("".join(f"{n}\n" for n in survivors_order), encoding="utf-8")
    stats_order = sorted(cols)
    pq.write_table(
        pa.table({
            "column": stats_order,
            "missing_ratio": [float(np.isnan(cols[n]).mean()) for n in stats_order],
            "robust_variance": [robust_variance(cols[n]) for n in stats_order],
        }),
        files.column_stats,
    )
    return {"sample": str(files.sample), "survivors": str(files.survivors), "stats": str(files.column_stats)}


def do_pass(pass_name: str, config: dict, inputs: dict[str, str], survivors_in: str, out: Path) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    files = StageFiles(out)
    summary = run_pass(pass_name, config, StageFiles(Path(inputs["sample"]).parent), survivors_in, files)
    clusters = pq.read_table(files.clusters)
    edges = pq.read_table(files.edges)
    survivors = files.survivors.read_text(encoding="utf-8").splitlines()
    on_disk = json.loads(files.summary.read_text(encoding="utf-8"))
    assert on_disk == summary
    return {"summary": summary, "clusters": clusters, "edges": edges, "survivors": survivors, "dir": out, "files": files}


def check_outputs(result: dict, names_in: list[str], threshold: float) -> dict[str, str]:
    """The documented columns and their consistency; returns descriptor -> representative."""
    clusters, edges, survivors, summary = result["clusters"], result["edges"], result["survivors"], result["summary"]
    assert clusters.column_names == CLUSTER_COLUMNS
    assert edges.column_names == EDGE_COLUMNS
    c = clusters.to_pydict()
    e = edges.to_pydict()
    assert c["descriptor"] == sorted(names_in)
    rep = dict(zip(c["descriptor"], c["representative"]))
    survivor_set = {d for d, r in rep.items() if d == r}
    assert survivors == [n for n in names_in if n in survivor_set]  # input order
    assert c["is_representative"] == [d == r for d, r in zip(c["descriptor"], c["representative"])]
    edge_sim = {frozenset((a, b)): s for a, b, s in zip(e["descriptor_a"], e["descriptor_b"], e["similarity"])}
    assert len(edge_sim) == len(e["similarity"])
    assert all(s >= threshold for s in e["similarity"])
    figure = {(a, b): ab for a, b, ab in zip(e["descriptor_a"], e["descriptor_b"], e["a_from_b"])}
    figure |= {(b, a): ba for a, b, ba in zip(e["descriptor_a"], e["descriptor_b"], e["b_from_a"])}
    minimum = summary["min_predictability"]
    assert e["is_merge"] == [min(ab, ba) >= minimum for ab, ba in zip(e["a_from_b"], e["b_from_a"])]
    merges = {frozenset((a, b)) for a, b, m in zip(e["descriptor_a"], e["descriptor_b"], e["is_merge"]) if m}
    for d, r, s, p in zip(c["descriptor"], c["representative"], c["similarity"], c["predictability"]):
        if d != r:
            assert edge_sim[frozenset((d, r))] == s  # (a) every removal is backed by a merge to its representative
            assert frozenset((d, r)) in merges and p == figure[(d, r)] >= minimum and figure[(r, d)] >= minimum
        else:
            assert p == 1.0
    for pair in merges:
        assert not pair <= survivor_set  # (b) no keep in these configs: survivors are never joined by a merge
    assert summary["pass"] in ("spearman", "hsic", "rdc")
    assert summary["threshold"] == threshold
    assert summary["descriptors_in"] == len(names_in)
    assert summary["descriptors_out"] == len(survivors) == summary["clusters"]
    assert summary["removed"] == len(names_in) - len(survivors)
    assert summary["edges"] == edges.num_rows == summary["merges"] + summary["refused_links"]
    sizes = np.bincount(np.asarray(c["cluster"]))
    assert summary["cluster_size_max"] == int(sizes.max())
    assert sum(summary["similarity_histogram"]["pair_counts"]) == len(names_in) * (len(names_in) - 1) // 2
    return rep


def spearman_rule(x: np.ndarray, y: np.ndarray) -> float:
    """|cosine| of own-present-rank vectors centered by (n_present + 1) / 2, zero where missing."""

    def centered(v: np.ndarray) -> np.ndarray:
        present = ~np.isnan(v)
        out = np.zeros(v.shape)
        out[present] = scipy.stats.rankdata(v[present]) - (present.sum() + 1) / 2.0
        return out

    a, b = centered(x), centered(y)
    return abs(float(a @ b) / (np.linalg.norm(a) * np.linalg.norm(b)))


@pytest.fixture(scope="module")
def planted() -> tuple[dict[str, np.ndarray], dict[str, list[str]]]:
    return planted_sample()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory, planted) -> dict:
    """spearman on every column, then rdc (and hsic) on the spearman survivors."""
    cols, _ = planted
    root = tmp_path_factory.mktemp("passes")
    order = list(cols)
    inputs = write_inputs(root / "in", order, cols, order)
    spearman = do_pass("spearman", CONFIG, inputs, inputs["survivors"], root / "spearman")
    rdc = do_pass("rdc", CONFIG, inputs, str(StageFiles(root / "spearman").survivors), root / "rdc")
    hsic = do_pass("hsic", CONFIG, inputs, str(StageFiles(root / "spearman").survivors), root / "hsic")
    return {"inputs": inputs, "order": order, "spearman": spearman, "rdc": rdc, "hsic": hsic}


def test_spearman_pass_merges_monotone_groups(chain, planted) -> None:
    cols, groups = planted
    rep = check_outputs(chain["spearman"], chain["order"], 0.95)
    for group in groups["monotone"]:
        reps = {rep[m] for m in group}
        assert len(reps) == 1 and reps <= set(group), group
    for group in groups["nonlinear"] + groups["independent"]:
        assert all(rep[m] == m for m in group), group
    # the edges are exactly the planted monotone pairs, with the similarity of the documented rule (float32)
    e = chain["spearman"]["edges"].to_pydict()
    got = {frozenset((a, b)): s for a, b, s in zip(e["descriptor_a"], e["descriptor_b"], e["similarity"])}
    planted_pairs = {frozenset((a, b)) for g in groups["monotone"] for a in g for b in g if a < b}
    assert set(got) == planted_pairs
    for pair, s in got.items():
        a, b = sorted(pair)
        assert abs(s - spearman_rule(cols[a], cols[b])) <= 1e-5
    assert chain["spearman"]["summary"]["rows"] == N_ROWS


def test_rdc_pass_merges_nonlinear_groups(chain, planted) -> None:
    _, groups = planted
    names_in = chain["spearman"]["survivors"]
    rep = check_outputs(chain["rdc"], names_in, 0.9)
    for group in groups["nonlinear"]:
        assert all(m in names_in for m in group)  # survived Spearman
        reps = {rep[m] for m in group}
        assert reps <= set(group), group
        assert len(reps) <= 2, group  # x-x^2 and x-sin are linked: at least one of the three is removed
        assert sum(rep[m] != m for m in group) >= 1
    monotone_survivors = [m for g in groups["monotone"] for m in g if m in names_in]
    for m in monotone_survivors + [g[0] for g in groups["independent"]]:
        assert rep[m] == m, m
    e = chain["rdc"]["edges"].to_pydict()
    nl_group = {m: k for k, g in enumerate(groups["nonlinear"]) for m in g}
    for a, b in zip(e["descriptor_a"], e["descriptor_b"]):
        assert a in nl_group and b in nl_group and nl_group[a] == nl_group[b], (a, b)
    # x is linked to both of its functions
    got = {frozenset((a, b)) for a, b in zip(e["descriptor_a"], e["descriptor_b"])}
    for g in groups["nonlinear"]:
        assert frozenset((g[0], g[1])) in got and frozenset((g[0], g[2])) in got


def test_rdc_pass_with_prefer_collapses_each_group_to_x(tmp_path: Path, chain, planted) -> None:
    _, groups = planted
    config = copy.deepcopy(CONFIG)
    config["prefer"] = [g[0] for g in groups["nonlinear"]]
    survivors_in = str(chain["spearman"]["files"].survivors)
    result = do_pass("rdc", config, chain["inputs"], survivors_in, tmp_path / "rdc")
    rep = check_outputs(result, chain["spearman"]["survivors"], 0.9)
    for g in groups["nonlinear"]:
        assert [rep[m] for m in g] == [g[0]] * 3


def test_hsic_pass_never_merges_independent_columns(chain, planted) -> None:
    _, groups = planted
    rep = check_outputs(chain["hsic"], chain["spearman"]["survivors"], 0.8)
    e = chain["hsic"]["edges"].to_pydict()
    independent = {g[0] for g in groups["independent"]}
    assert all(rep[m] == m for m in independent)
    assert not independent & (set(e["descriptor_a"]) | set(e["descriptor_b"]))


def test_hsic_pass_merges_affine_copies(tmp_path: Path, chain, planted) -> None:
    """On a hand-made survivor list: z and -2z + 1 (exact normalized HSIC 1) are merged, independents are not."""
    _, groups = planted
    names_in = ["mono1_neg", "ind_normal", "mono1_z", "ind_uniform", "ind_counts"]
    survivors_in = tmp_path / "survivors_in.txt"
    survivors_in.write_text("".join(f"{n}\n" for n in names_in), encoding="utf-8")
    result = do_pass("hsic", CONFIG, chain["inputs"], str(survivors_in), tmp_path / "hsic")
    rep = check_outputs(result, names_in, 0.8)
    assert rep["mono1_z"] == rep["mono1_neg"]
    assert all(rep[m] == m for m in ("ind_normal", "ind_uniform", "ind_counts"))
    assert result["edges"].num_rows == 1


def test_keep_survives_the_spearman_pass(tmp_path: Path, chain, planted) -> None:
    _, groups = planted
    config = copy.deepcopy(CONFIG)
    config["keep"] = ["mono1_cube", "mono1_neg"]
    result = do_pass("spearman", config, chain["inputs"], chain["inputs"]["survivors"], tmp_path / "sp")
    rep = {d: r for d, r in zip(result["clusters"].column("descriptor").to_pylist(), result["clusters"].column("representative").to_pylist())}
    assert rep["mono1_cube"] == "mono1_cube" and rep["mono1_neg"] == "mono1_neg"
    others = [m for m in groups["monotone"][0] if m not in config["keep"]]
    assert all(rep[m] in config["keep"] for m in others)


def test_max_rows_limits_the_rows(tmp_path: Path, chain) -> None:
    config = copy.deepcopy(CONFIG)
    config["passes"]["spearman"]["max_rows"] = 400
    result = do_pass("spearman", config, chain["inputs"], chain["inputs"]["survivors"], tmp_path / "sp")
    assert result["summary"]["rows"] == 400


def test_column_order_does_not_change_outputs(tmp_path: Path, chain, planted) -> None:
    """Shuffled columns in the sample file and a shuffled survivors list: identical clusters/edges bytes."""
    cols, _ = planted
    rng = np.random.default_rng(7)
    order = [chain["order"][k] for k in rng.permutation(len(chain["order"]))]
    survivors_order = [chain["order"][k] for k in rng.permutation(len(chain["order"]))]
    inputs = write_inputs(tmp_path / "in", order, cols, survivors_order)
    spearman = do_pass("spearman", CONFIG, inputs, inputs["survivors"], tmp_path / "spearman")
    rdc = do_pass("rdc", CONFIG, inputs, str(spearman["files"].survivors), tmp_path / "rdc")
    hsic = do_pass("hsic", CONFIG, inputs, str(spearman["files"].survivors), tmp_path / "hsic")
    assert hsic["summary"]["features"]["screen"] == 2  # the screened path, at the default threshold
    for name, result in (("spearman", spearman), ("rdc", rdc), ("hsic", hsic)):
        for output in ("clusters", "edges"):
            ours, theirs = (getattr(r["files"], output) for r in (result, chain[name]))
            assert ours.read_bytes() == theirs.read_bytes(), (name, output)
        assert set(result["survivors"]) == set(chain[name]["survivors"])
    assert spearman["survivors"] == [n for n in survivors_order if n in set(spearman["survivors"])]


def test_shards_gather_to_the_single_job_result(tmp_path: Path, chain) -> None:
    """HSIC (many blocks of few columns): run_shard x 3 then run_pass(edge_shards=...) writes the same edges and clusters as one run_pass."""
    config = {**CONFIG, "block_memory_mb": 0}  # one column a block (features rebuilt per block): many block pairs
    inputs = chain["inputs"]
    shards = [str(tmp_path / f"edges-{k}.parquet") for k in range(3)]
    for k, path in enumerate(shards):
        run_shard("hsic", config, inputs["sample"], inputs["survivors"], k, 3, path)
    gathered = do_pass_with("hsic", config, inputs, tmp_path / "gathered", edge_shards=shards)
    single = do_pass_with("hsic", config, inputs, tmp_path / "single")
    for name in ("clusters", "edges", "survivors"):
        ours, theirs = (getattr(StageFiles(tmp_path / run), name) for run in ("gathered", "single"))
        assert ours.read_bytes() == theirs.read_bytes(), name
    assert gathered["similarity_histogram"] == single["similarity_histogram"]
    assert gathered["blocks"] == single["blocks"] >= 3  # every shard had block pairs to compute
    with pytest.raises(PipelineError, match="do not form one complete set"):
        do_pass_with("hsic", config, inputs, tmp_path / "partial", edge_shards=shards[:2])


def do_pass_with(pass_name: str, config: dict, inputs: dict[str, str], out: Path, edge_shards=()) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    return run_pass(pass_name, config, StageFiles(Path(inputs["sample"]).parent), inputs["survivors"], StageFiles(out),
                    edge_shards=edge_shards)


def test_min_predictability_refuses_one_way_links(tmp_path: Path, chain, planted) -> None:
    """At 0.5, x -- x^2 is a link but not a merge: x predicts x^2 (figure ~1), x^2 does not predict x
    (~0, the sign is lost), so both survive. sin(pi x) keeps the sign: x -- sin(pi x) stays a merge.
    The figures are the scipy/pandas ones."""
    from test_predictability import reference

    cols, groups = planted
    config = copy.deepcopy(CONFIG)
    config["passes"]["rdc"]["min_predictability"] = 0.5
    result = do_pass("rdc", config, chain["inputs"], str(chain["spearman"]["files"].survivors), tmp_path / "rdc")
    rep = check_outputs(result, chain["spearman"]["survivors"], 0.9)
    e = result["edges"].to_pydict()
    for a, b, ab, ba, merge in zip(e["descriptor_a"], e["descriptor_b"], e["a_from_b"], e["b_from_a"], e["is_merge"]):
        assert ab == pytest.approx(reference(cols[a], cols[b]), abs=1e-9)
        assert ba == pytest.approx(reference(cols[b], cols[a]), abs=1e-9)
        if "_sq" in a + b:
            sq_from_x, x_from_sq = (ab, ba) if a.endswith("_sq") else (ba, ab)
            assert not merge and sq_from_x > 0.95 and x_from_sq < 0.1, (a, b, ab, ba)
        else:
            assert merge and min(ab, ba) >= 0.5, (a, b, ab, ba)
    for x, square, sine in groups["nonlinear"]:
        assert rep[square] == square and rep[x] == rep[sine] in (x, sine)
    assert result["summary"]["refused_links"] == len(groups["nonlinear"]) == result["summary"]["merges"]
