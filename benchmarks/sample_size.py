"""How the row sample's size moves a pass's Spearman decision: the spread of |rho| over repeated samples.

For bivariate normal columns with Spearman rho near a threshold, draw ``--repeats`` samples of n rows
and report the standard deviation of the estimated rho next to the textbook approximation
(1 - rho^2) / sqrt(n) (Pearson's; Spearman's is slightly larger under normality). A pair whose true
rho is within about two standard deviations of the threshold can fall on either side of it.

    python benchmarks/sample_size.py --repeats 200
"""

from __future__ import annotations

import argparse
import math

import numpy as np
from scipy.stats import spearmanr


def pearson_for_spearman(rho_s: float) -> float:
    """Pearson correlation of a bivariate normal whose Spearman correlation is ``rho_s``."""
    return 2.0 * math.sin(math.pi * rho_s / 6.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print("| rho (Spearman) | n rows | sd of estimate (measured) | (1 - rho^2) / sqrt(n) | P(estimate >= 0.95) |")
    print("|---|---|---|---|---|")
    for rho_s in (0.5, 0.9, 0.94, 0.95):
        r = pearson_for_spearman(rho_s)
        cov = np.array([[1.0, r], [r, 1.0]])
        for n in (1_000, 5_000, 20_000):
            est = np.array([spearmanr(*rng.multivariate_normal([0, 0], cov, size=n).T)[0] for _ in range(args.repeats)])
            print(f"| {rho_s} | {n:,} | {est.std(ddof=1):.4f} | {(1 - rho_s**2) / math.sqrt(n):.4f} | {np.mean(est >= 0.95):.2f} |")


if __name__ == "__main__":
    main()
