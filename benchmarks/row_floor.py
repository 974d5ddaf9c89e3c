"""Benchmark: how few rows the passes can decide from. Independent columns should never be merged; below
some row count chance alone makes them look dependent. For each row count this prints, over every pair
of independent columns (normal, uniform and tied counts), the largest similarity of each measure, the
share of pairs at or above the pass's default threshold, and the share whose predictability figure
reaches the default floor in both directions (a merge from no evidence).

    python benchmarks/row_floor.py                  # 60 columns (1,770 pairs) x 3 seeds per row count
    python benchmarks/row_floor.py --columns 30     # a quicker run

The minimum row counts of config/schema.yaml (sample_rows, passes.*.max_rows) and of the scikit-learn
transformer come from this table (docs/calibration.md, "Row floor").
"""

from __future__ import annotations

import argparse

import numpy as np

from descriptor_pipeline.dependence import HSIC, RDC, Spearman, all_pairs
from descriptor_pipeline.predictability import pair_figures
from descriptor_pipeline.settings import PASSES, defaults, load_schema
from descriptor_pipeline.layout import schema_path

DEFAULTS = defaults(load_schema(schema_path()))
MEASURES = {"spearman": Spearman, "hsic": HSIC, "rdc": RDC}


def independent(n: int, p: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kinds = [lambda: rng.standard_normal(n), lambda: rng.uniform(size=n), lambda: rng.poisson(2.0, n).astype(float)]
    return np.vstack([kinds[c % 3]() for c in range(p)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--columns", type=int, default=60)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--rows", default="5,10,20,30,50,75,100,200,500,1000")
    args = ap.parse_args()
    floor = DEFAULTS["passes"]["rdc"]["min_predictability"]
    heads = [f"{m} max (share >= {DEFAULTS['passes'][m]['threshold']})" for m in PASSES]
    print(f"| rows | {' | '.join(heads)} "
          f"| both-way figure >= {floor} |")
    print("|---|" + "---|" * (len(PASSES) + 1))
    for n in [int(r) for r in args.rows.split(",")]:
        cells = []
        for name in PASSES:
            threshold = DEFAULTS["passes"][name]["threshold"]
            top, over, pairs = 0.0, 0, 0
            for seed in range(args.seeds):
                X = independent(n, args.columns, seed)
                result = all_pairs(X, MEASURES[name](seed=seed) if name != "spearman" else Spearman(), 0.0, np, "float64")
                top = max(top, float(result.similarity.max()))
                over += int(np.sum(result.similarity >= threshold))
                pairs += len(result.similarity)
            cells.append(f"{top:.3f} ({over / pairs:.1%})")
        both, pairs = 0, 0
        for seed in range(args.seeds):
            X = independent(n, args.columns, seed)
            i, j = np.triu_indices(args.columns, k=1)
            ab, ba = pair_figures(X, i, j)
            both += int(np.sum(np.minimum(ab, ba) >= floor))
            pairs += len(i)
        print(f"| {n:,} | {' | '.join(cells)} | {both / pairs:.1%} |")


if __name__ == "__main__":
    main()
