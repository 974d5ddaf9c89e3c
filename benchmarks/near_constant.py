"""The near-constant filter on the real tables in tests/data and their concatenation: the count rule
(``ingest.min_off_mode_rows``, rows of the sample off the most frequent value) against the variance rule
it replaced (winsorized variance below 1e-10), and both rules on the same tables in other units.

For each table: the columns either rule could drop (those past the missing, constant and integer
filters), how many each drops, which verdicts changed, how many the count rule drops at other limits,
and how many verdicts change when every column is multiplied by 1e-6 or by 1e6 (the count rule: none).

    python benchmarks/near_constant.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from descriptor_pipeline.ingest import run_ingest
from descriptor_pipeline.layout import StageFiles
from descriptor_pipeline.settings import IngestSettings

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
TABLES = {k: DATA / f"{k}_descriptors.parquet" for k in ("rdkit", "mordred", "padel")}
IDS = ("mol_id", "smiles", ".*:smiles")
OLD_LIMIT = 1e-10  # the variance rule's default
LIMITS = (1, 2, 5, 10, 20)
OTHER_FILTERS = {"excluded", "non_numeric", "all_missing", "missing_ratio", "constant", "beyond_float64"}


def tables() -> dict[str, pa.Table]:
    out = {k: pq.read_table(p) for k, p in TABLES.items()}
    frames = {k: t.to_pandas().set_index("mol_id") for k, t in out.items()}
    shared = sorted(set.intersection(*(set(f.index) for f in frames.values())))
    out["concatenated"] = pa.Table.from_pandas(
        pd.concat([f.loc[shared].add_prefix(f"{k}:") for k, f in frames.items()], axis=1).reset_index(), preserve_index=False)
    return out


def scaled(table: pa.Table, factor: float) -> pa.Table:
    cols = {}
    for name in table.column_names:
        col = table.column(name)
        floating = pa.types.is_floating(col.type) or (pa.types.is_integer(col.type) and name != "mol_id")
        with np.errstate(over="ignore"):  # a value near 1e308 becomes inf, which the missing filter counts
            cols[name] = pa.array(col.to_numpy(zero_copy_only=False).astype(float) * factor) if floating else col
    return pa.table(cols)


def column_stats(table: pa.Table, work: Path, limit: int) -> pd.DataFrame:
    work.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, work / "table.parquet")
    files = StageFiles(work / "ingest")
    settings = IngestSettings.with_defaults(min_off_mode_rows=limit, sample_rows=0, exclude_columns=IDS)
    run_ingest([str(work / "table.parquet")], settings, str(files.column_stats), str(files.survivors), str(files.sample))
    return pq.read_table(files.column_stats).to_pandas().set_index("column")


def verdicts(stats: pd.DataFrame) -> tuple[pd.Index, pd.Series, pd.Series]:
    """The candidates, and the count rule's and the variance rule's near-constant verdicts on them."""
    candidates = stats.index[~stats["reason"].isin(OTHER_FILTERS)]
    cand = stats.loc[candidates]
    count_rule = cand["reason"] == "near_constant"
    variance_rule = ~(cand["robust_variance"].fillna(0.0) >= OLD_LIMIT)
    return candidates, count_rule, variance_rule


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, table in tables().items():
            stats = column_stats(table, Path(tmp) / name / "x1", 5)
            candidates, new, old = verdicts(stats)
            at = {n: int((stats.loc[candidates, "n_off_mode_sample"] < n).sum()) for n in LIMITS}
            unit_changes = {}
            for factor in (1e-6, 1e6):
                other = column_stats(scaled(table, factor), Path(tmp) / name / f"x{factor:g}", 5)
                _, new_f, old_f = verdicts(other)
                unit_changes[factor] = (int((new_f != new.reindex(new_f.index)).sum()), int((old_f != old.reindex(old_f.index)).sum()))
            kept_now = sorted(candidates[old.to_numpy() & ~new.to_numpy()])
            dropped_now = sorted(candidates[new.to_numpy() & ~old.to_numpy()])
            rows.append((name, table.num_rows, len(candidates), int(old.sum()), int(new.sum()), at, kept_now, dropped_now, unit_changes))
            off = stats.loc[kept_now, "n_off_mode_sample"].astype(int).tolist() if kept_now else []
            print(f"{name}: {table.num_rows} rows, {len(candidates)} columns either rule could drop; "
                  f"variance rule drops {int(old.sum())}, count rule (5 rows) {int(new.sum())}", file=sys.stderr)
            print(f"  kept now ({len(kept_now)}; rows off the mode {sorted(off)}): {', '.join(kept_now[:12])}"
                  f"{' ...' if len(kept_now) > 12 else ''}", file=sys.stderr)
            print(f"  dropped now ({len(dropped_now)}): {', '.join(dropped_now[:12])}", file=sys.stderr)
    print("| table | rows | columns the rule sees | variance rule (1e-10) drops | count rule (5 rows) drops | "
          + " | ".join(f"< {n} rows" for n in LIMITS) + " | verdicts changed x1e-6 / x1e6: count rule | variance rule |")
    print("|---|---|---|---|---|" + "---|" * len(LIMITS) + "---|---|")
    for name, n, cand, old, new, at, _, _, unit in rows:
        print(f"| {name} | {n} | {cand} | {old} | {new} | " + " | ".join(str(at[k]) for k in LIMITS)
              + f" | {unit[1e-6][0]} / {unit[1e6][0]} | {unit[1e-6][1]} / {unit[1e6][1]} |")


if __name__ == "__main__":
    main()
