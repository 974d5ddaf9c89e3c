"""Readable representatives on the real tables in tests/data: the default chain with ``prefer_known``
true and false, side by side. Per table: the final set's size, how many final descriptors are of the
known list, which descriptor stands for the size cluster (the one holding the molecular weight) and for
how many, and the end-to-end predictability of every alternative from its final survivor (minimum,
5th percentile, median, and how many fall below 0.5).

    python benchmarks/known_names.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np

from descriptor_pipeline import io
from descriptor_pipeline.chain import run_chain
from descriptor_pipeline.known import KNOWN, known_rank
from descriptor_pipeline.layout import Results
from descriptor_pipeline.settings import complete

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
WEIGHTS = {"rdkit": "MolWt", "mordred": "MW", "padel": "MW"}


def main() -> None:
    print("| table | prefer_known | final | known in final | the molecular weight's survivor (stands for) | "
          "end-to-end predictability: min | 5 % | median | below 0.5 |")
    print("|---|---|---|---|---|---|---|---|---|")
    for table, weight in WEIGHTS.items():
        path = str(DATA / f"{table}_descriptors.parquet")
        for flag in (False, True):
            with tempfile.TemporaryDirectory() as tmp:
                config = complete({"input": [path], "exclude_columns": ["mol_id", "smiles"], "prefer_known": flag})
                report = run_chain(config, [path], Results(Path(tmp)))
            final = list(report["descriptors"])
            where = next(s for s, e in report["descriptors"].items() if weight in e["all_cluster_members"])
            figures = np.array([f for e in report["descriptors"].values() for a, f in e["predictability"].items()
                                if f is not None], dtype=float)
            known = sum(known_rank(n) < len(KNOWN) for n in final)
            size = len(report["descriptors"][where]["all_cluster_members"]) - 1
            print(f"| {table} | {str(flag).lower()} | {len(final)} | {known} | {where} ({size}) | {figures.min():.3f} | "
                  f"{np.quantile(figures, 0.05):.3f} | {np.median(figures):.3f} | {(figures < 0.5).sum()} |", flush=True)


if __name__ == "__main__":
    main()
