"""Dense groups: what the predictability check costs where every member of a group is linked to every
other, as in concatenated descriptor programs (the same quantity from RDKit, Mordred and PaDEL, and
their scaled variants).

A table of 50 groups of 200 rescaled copies (a * x + b, a > 0, of one column per group; 10,000 columns,
2,000 rows by default: 995,000 Spearman links at |rho| = 1) runs the whole chain in one process twice:
as shipped, and with the predictability check replaced by figures of 1 (what a run without the check
would decide here). Prints both times, their ratio (target: at most 2) and whether the final lists agree.

    python benchmarks/dense_groups.py [--groups 50] [--copies 200] [--rows 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

import descriptor_pipeline.passes as passes
from descriptor_pipeline.chain import run_chain
from descriptor_pipeline.layout import Results
from descriptor_pipeline.settings import complete


def table(groups: int, copies: int, rows: int, seed: int = 0) -> pa.Table:
    rng = np.random.default_rng(seed)
    cols = {}
    for g in range(groups):
        x = rng.gamma(1.0 + g % 5, size=rows)
        scale, shift = rng.uniform(0.1, 10.0, copies), rng.normal(0.0, 5.0, copies)
        for c in range(copies):
            cols[f"g{g:02d}_c{c:03d}"] = scale[c] * x + shift[c]
    return pa.table(cols)


def run(path: str, work: Path, check: bool) -> tuple[float, list[str]]:
    original = passes.edge_predictability
    if not check:
        passes.edge_predictability = lambda sample, names, i, j, max_rows=0: (np.ones(len(i)), np.ones(len(i)))
    try:
        t0 = time.perf_counter()
        report = run_chain(complete({"input": [path]}), [path], Results(work), threads=2)
        return time.perf_counter() - t0, sorted(report["descriptors"])
    finally:
        passes.edge_predictability = original


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--groups", type=int, default=50)
    parser.add_argument("--copies", type=int, default=200)
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "dense.parquet")
        pq.write_table(table(args.groups, args.copies, args.rows), path)
        links = args.groups * args.copies * (args.copies - 1) // 2
        without, final_without = run(path, Path(tmp) / "without", check=False)
        with_check, final_with = run(path, Path(tmp) / "with", check=True)
    print(f"{args.groups} groups x {args.copies} copies, {args.rows} rows, {links:,} links: "
          f"with the check {with_check:.1f} s, without {without:.1f} s, ratio {with_check / without:.2f} "
          f"(target <= 2); final lists {'the same' if final_with == final_without else 'DIFFER'} "
          f"({len(final_with)} descriptors)")


if __name__ == "__main__":
    main()
