"""Real descriptor tables (tests/data/README.md): every column's statistics, the case-only name pairs and
the exact duplicates of ingest checked against pandas, and the whole workflow run on them, alone and
concatenated.

Each table is split the way users' tables come: four files of uneven size in small row groups, one of
them with its columns in another order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from descriptor_pipeline.ingest import IngestSettings, run_ingest
from descriptor_pipeline.layout import StageFiles
from test_workflow_bad_input import assert_handled, run
from workflow_helpers import REPO, results_of

TABLES = {
    "mordred": REPO / "tests/data/mordred_descriptors.parquet",
    "rdkit": REPO / "tests/data/rdkit_descriptors.parquet",
    "padel": REPO / "tests/data/padel_descriptors.parquet",
}
IDS = ["mol_id"]  # numeric, but not a descriptor


def split(table: pa.Table, folder: Path) -> list[str]:
    """Four files of uneven size, row groups of 64 rows; the third with its columns in reverse order."""
    folder.mkdir(parents=True, exist_ok=True)
    cuts = [0, table.num_rows // 10, table.num_rows // 3, (2 * table.num_rows) // 3, table.num_rows]
    files = []
    for k, (lo, hi) in enumerate(zip(cuts[:-1], cuts[1:])):
        part = table.slice(lo, hi - lo)
        if k == 2:
            part = part.select(part.column_names[::-1])
        files.append(str(folder / f"part-{k}.parquet"))
        pq.write_table(part, files[-1], row_group_size=64)
    return files


def present(df: pd.DataFrame) -> pd.DataFrame:
    """The descriptor values that count as present: not null, not NaN, not +-inf."""
    return df.replace([np.inf, -np.inf], np.nan)


@pytest.fixture(scope="module", params=list(TABLES))
def ingested(request, tmp_path_factory) -> tuple[str, pd.DataFrame, pd.DataFrame]:
    """(table name, the whole table in pandas, the ingest column stats indexed by column)."""
    name = request.param
    table = pq.read_table(TABLES[name])
    d = tmp_path_factory.mktemp(name)
    files = split(table, d / "in")
    out = StageFiles(d / "out")
    run_ingest(files, IngestSettings.with_defaults(exclude_columns=tuple(IDS)), str(out.column_stats),
               str(out.survivors), str(out.sample))
    stats = pq.read_table(out.column_stats).to_pandas().set_index("column")
    return name, table.to_pandas(), stats


def descriptor_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c not in IDS and pd.api.types.is_numeric_dtype(df[c])]


def test_statistics_equal_pandas_for_every_column(ingested):
    name, df, stats = ingested
    assert list(stats.index) == list(df.columns)
    columns = descriptor_columns(df)
    values = present(df[columns])
    n = len(df)
    scale = values.abs().max().fillna(0.0)
    # mean and std on values divided by a power of two (exact), so that PaDEL's 1.8e308 does not overflow
    power = pd.Series(np.ldexp(1.0, np.frexp(scale.to_numpy())[1] - 1), index=scale.index)  # scale / 2 < power <= scale
    reference = pd.DataFrame({
        "n_missing": values.isna().sum(), "missing_ratio": values.isna().sum() / n,
        "mean": (values / power).mean() * power, "std": (values / power).std(ddof=1) * power,
        "min": values.min(), "max": values.max(),
    })
    for column in columns:
        got, want = stats.loc[column], reference.loc[column]
        assert got["n_missing"] == want["n_missing"], column
        assert got["missing_ratio"] == pytest.approx(want["missing_ratio"], abs=0), column
        for key in ("min", "max"):
            assert got[key] == want[key] or (np.isnan(got[key]) and np.isnan(want[key])), (column, key)
        for key in ("mean", "std"):
            if np.isnan(want[key]):
                assert np.isnan(got[key]), (column, key)
            else:  # pandas sums in float64 with rounding; ours is closer to exact: compare to the scale
                assert got[key] == pytest.approx(want[key], rel=1e-10, abs=1e-13 * scale[column]), (column, key)
    assert set(stats.loc[columns, "reason"].dropna()) <= {
        "all_missing", "missing_ratio", "constant", "near_constant", "exact_duplicate"}
    assert (stats.loc[columns, "reason"] == "constant").sum() == int(((values.min() == values.max())
                                                                      & (values.isna().mean() <= 0.5)).sum())


def test_case_only_pairs_are_distinct_descriptors(ingested):
    name, df, stats = ingested
    by_folded = defaultdict(list)
    for column in descriptor_columns(df):
        by_folded[column.casefold()].append(column)
    pairs = [group for group in by_folded.values() if len(group) > 1]
    if name != "mordred":  # RDKit and PaDEL name no two descriptors alike but for case
        assert pairs == []
        return
    assert len(pairs) >= 40  # Mordred: nARing / naRing, n3ARing / n3aRing, nAHRing / naHRing, ...
    assert ["naRing", "nARing"] in pairs
    values = present(df)
    differ = 0
    for group in pairs:
        for a in group:  # each column of a pair has its own statistics, and its own fate at the filters
            assert stats.loc[a, "n_missing"] == values[a].isna().sum(), a
            if values[a].notna().any():
                assert stats.loc[a, "mean"] == pytest.approx(values[a].mean(), rel=1e-12, abs=1e-300), a
                assert (stats.loc[a, "reason"] == "constant") == (values[a].min() == values[a].max()
                                                                  and values[a].isna().mean() <= 0.5), a
        for a in group:
            for b in group:
                if a < b and not values[a].equals(values[b]):  # different values: never merged as duplicates
                    differ += 1
                    assert stats.loc[a, "duplicate_of"] != b and stats.loc[b, "duplicate_of"] != a, (a, b)
    assert differ >= 30  # the rest are pairs whose values coincide on these molecules (e.g. both all zero)
    assert stats.loc["nARing", "mean"] != stats.loc["naRing", "mean"]


def test_exact_duplicate_groups_equal_pandas(ingested):
    name, df, stats = ingested
    candidates = [c for c in descriptor_columns(df) if stats.loc[c, "status"] in ("kept", "duplicate")]
    values = present(df)
    groups = defaultdict(list)  # columns equal in every row, missing equal to missing, -0.0 equal to 0.0
    for column in candidates:
        x = values[column].to_numpy(dtype=np.float64, na_value=np.nan) + 0.0
        groups[np.nan_to_num(x, nan=np.inf).tobytes()].append(column)
    expected = sorted(sorted(g) for g in groups.values() if len(g) > 1)
    found = defaultdict(list)
    for column in candidates:
        keeper = stats.loc[column, "duplicate_of"] if stats.loc[column, "status"] == "duplicate" else column
        found[keeper].append(column)
    assert sorted(sorted(g) for g in found.values() if len(g) > 1) == expected
    assert len(expected) >= (5 if name == "mordred" else 1)
    for column in candidates:  # the keeper of a group is kept
        if stats.loc[column, "status"] == "duplicate":
            assert stats.loc[stats.loc[column, "duplicate_of"], "status"] == "kept"


@pytest.mark.slow
def test_mordred_through_the_workflow(workdir):
    """The whole workflow on the Mordred table in four files: every column exactly once, the report valid."""
    table = pq.read_table(TABLES["mordred"])
    split(table, workdir / "data")
    proc = run(workdir, "data/part-*.parquet", exclude_columns=IDS)
    report = assert_handled(workdir, proc, table.column_names)
    stands_for = {m: s for s, e in report["descriptors"].items() for m in e["all_cluster_members"]}
    for a, b in [("naRing", "nARing"), ("n6aRing", "n6ARing")]:  # aromatic and aliphatic ring counts
        assert (a in stands_for or a in report["dropped"]) and (b in stands_for or b in report["dropped"])
    assert report["dropped"]["smiles"]["reason"] == "non_numeric"
    assert report["dropped"]["mol_id"]["reason"] == "excluded"
    assert 100 <= report["metadata"]["total_descriptors"] <= 1000


@pytest.mark.slow
def test_stability_reruns_equal_whole_runs_under_those_seeds(tmp_path):
    """RDKit table (1,000 rows, all of them in the sample): rule stability's rerun under seed 7 gives the
    final set of a whole run with seed 7, and the stability report's Jaccard and flips are those of the two sets."""
    from descriptor_pipeline.stability import jaccard
    from workflow_helpers import copy_workflow

    table = pq.read_table(TABLES["rdkit"])
    finals, reports = {}, {}
    for seed, extra in ((42, {"stability_seeds": [7]}), (7, {})):
        wd = copy_workflow(tmp_path / f"seed{seed}")
        split(table, wd / "data")
        proc = run(wd, "data/part-*.parquet", exclude_columns=IDS, seed=seed, reduced=False, **extra)
        reports[seed] = assert_handled(wd, proc, table.column_names)
        files = results_of(wd)
        finals[seed] = set(files.final_list.read_text().split())
        if seed == 42:
            stability = json.loads(files.stability.read_text())
            assert files.figure("stability").stat().st_size > 0
            assert not list(files.root.glob(".stability-*")), "the reruns' folder is left behind"
    a, b = finals[42], finals[7]
    assert stability["seeds"] == [42, 7] and stability["final_sizes"] == [len(a), len(b)]
    assert stability["jaccard_min"] == stability["jaccard_mean"] == jaccard(a, b) == len(a & b) / len(a | b)
    assert stability["final_in_every_run"] == len(a & b)
    stands_for = {m: s for s, e in reports[42]["descriptors"].items() for m in e["all_cluster_members"] if m != s}
    assert {f["descriptor"]: (f["final_in"], f["in_this_run"]) for f in stability["flips"]} == {
        d: (1, "final" if d in a else stands_for[d]) for d in a ^ b}


@pytest.mark.slow
def test_rdkit_mordred_and_padel_concatenated(workdir):
    """The three real tables side by side on the 220 molecules they share (3,278 columns), as users
    concatenate descriptor families, a prefix keeping apart the names two families compute: every column
    exactly once; each descriptor RDKit and Mordred both compute (55) ends where its twin does, and so
    does each PaDEL descriptor equal in value to Mordred's of the same name; an exact copy of a survivor
    stands for it at a figure of 1."""
    frames = {k: pq.read_table(path).to_pandas().set_index("mol_id") for k, path in TABLES.items()}
    shared = sorted(set.intersection(*(set(f.index) for f in frames.values())))
    table = pa.Table.from_pandas(
        pd.concat([f.loc[shared].add_prefix(f"{k}:") for k, f in frames.items()], axis=1).reset_index(),
        preserve_index=False)
    assert table.num_rows == 220 and table.num_columns == 1 + 3 + 1613 + 217 + 1444  # mol_id, 3 smiles, the descriptors
    twins = [("rdkit", "mordred", n) for n in sorted(set(frames["rdkit"].columns) & set(frames["mordred"].columns) - {"smiles"})]
    rows = frames["mordred"].loc[shared]
    twins += [("padel", "mordred", n) for n in sorted(set(frames["padel"].columns) & set(frames["mordred"].columns) - {"smiles"})
              if np.array_equal(frames["padel"].loc[shared, n].to_numpy(float), rows[n].to_numpy(float), equal_nan=True)]
    assert len(twins) >= 55 + 40
    split(table, workdir / "data")
    proc = run(workdir, "data/part-*.parquet", exclude_columns=IDS)
    report = assert_handled(workdir, proc, table.column_names)
    place = {m: s for s, e in report["descriptors"].items() for m in e["all_cluster_members"]}
    place |= {name: f"dropped: {entry['reason']}" for name, entry in report["dropped"].items()}
    assert [place[f"{a}:{n}"] for a, _, n in twins] == [place[f"{b}:{n}"] for _, b, n in twins]
    copies = [(s, a) for s, e in report["descriptors"].items() for a, steps in e["lineage"].items()
              if len(steps) == 1 and steps[0]["pass"] == "ingest"]
    assert copies and all(report["descriptors"][s]["predictability"][a] == 1.0 for s, a in copies)


@pytest.mark.slow
def test_the_spearman_pass_gives_one_result_under_every_seed(tmp_path):
    """Its similarities are exact and the table is smaller than the sample (every seed sees every row), so
    the seed may change nothing: PaDEL's Spearman pass under seeds 42, 1 and 2 keeps the same survivors
    with the same representatives (one seeded Leiden run gave final sets at a Jaccard index of 0.96)."""
    from descriptor_pipeline.chain import ingest_into
    from descriptor_pipeline.layout import Results
    from descriptor_pipeline.settings import complete
    from descriptor_pipeline.stability import rerun_final

    path = str(TABLES["padel"])
    config = complete({"input": [path], "exclude_columns": ["mol_id", "smiles"],
                       "passes": {"hsic": {"enabled": False}, "rdc": {"enabled": False}}})
    results = Results(tmp_path / "run")
    ingest_into(config, [path], results)
    ingest = results.ingest
    clusters = {}
    for seed in (42, 1, 2):
        final = rerun_final(config, seed, str(ingest.sample), str(ingest.column_stats), str(ingest.survivors), tmp_path / str(seed))
        table = pq.read_table(Results(tmp_path / str(seed)).stage("spearman").clusters).to_pydict()
        clusters[seed] = (final, table)
    assert clusters[42][0] and clusters[42] == clusters[1] == clusters[2]
