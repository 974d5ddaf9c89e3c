"""Benchmark: the dependence passes against their lower bounds and against per-pair peers.

Spearman: all-pairs compute time vs (argsort of every column + one float32 matrix product of the same
shape), measured in the same run. HSIC and RDC: all-pairs time vs a per-pair implementation timed on
a sample of pairs and extrapolated to all pairs (marked as extrapolated), and vs the bare block
matrix products of the stacked features (the same block schedule, no feature maps, no reductions).

    python benchmarks/pass_speed.py                 # n=50,000 x p=1,000 Spearman; n=5,000 x p=1,000 HSIC/RDC
    python benchmarks/pass_speed.py --quick         # a smaller run for a smoke check
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from descriptor_pipeline.dependence import HSIC, RDC, Spearman, all_pairs, average_ranks, block_columns, median_bandwidth


THREADS = os.cpu_count() or 1  # all_pairs workers; the lower bounds use a multi-threaded BLAS on as many cores


def planted(n: int, p: int, seed: int = 0) -> np.ndarray:
    """(columns, rows): latent groups with monotone and non-monotone transforms plus noise."""
    rng = np.random.default_rng(seed)
    latent = rng.uniform(-1, 1, size=(max(1, p // 8), n))
    X = np.empty((p, n))
    for c in range(p):
        z = latent[c % latent.shape[0]]
        kind = c % 4
        X[c] = (z, np.exp(z), z**2, np.sin(3 * z))[kind] + 0.05 * rng.normal(size=n)
    return X


def best_of(fn, repeats: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), times


def bare_products(p: int, n: int, width: int, block_memory_mb: int) -> float:
    """Time of the block products alone (same block schedule as all_pairs), float32.

    A diagonal block multiplies a block by itself (NumPy then uses the symmetric rank-k update, half
    the work, as all_pairs does); an off-diagonal block multiplies two different arrays, as in all_pairs.
    """
    b = min(p, block_columns(width, 4, block_memory_mb))
    rng = np.random.default_rng(1)
    starts = list(range(0, p, b))
    FA = rng.standard_normal((b * width, n)).astype(np.float32)
    FB = rng.standard_normal((b * width, n)).astype(np.float32)
    t0 = time.perf_counter()
    for si in starts:
        for sj in starts:
            if sj < si:
                continue
            bi, bj = min(b, p - si) * width, min(b, p - sj) * width
            if si == sj:
                FA[:bi] @ FA[:bi].T
            else:
                FA[:bi] @ FB[:bj].T
    return time.perf_counter() - t0


def hsic_exact_pair(x: np.ndarray, y: np.ndarray) -> float:
    """Per-pair peer: exact normalized HSIC with n x n Gram matrices (what hyppo-style tools do)."""
    def centered_gram(v):
        s = median_bandwidth(v)
        K = np.exp(-((v[:, None] - v[None, :]) ** 2) / (2 * s * s))
        return K - K.mean(0) - K.mean(1)[:, None] + K.mean()
    Kc, Lc = centered_gram(x), centered_gram(y)
    return float((Kc * Lc).sum() / math.sqrt((Kc * Kc).sum() * (Lc * Lc).sum()))


def rdc_paper_pair(x: np.ndarray, y: np.ndarray, k: int = 20, s: float = 1 / 6, rng=np.random.default_rng(3)) -> float:
    """Per-pair peer: the RDC paper's algorithm (copula, random sin features, CCA via QR + SVD)."""
    from scipy.stats import rankdata

    def feats(v):
        u = np.column_stack([rankdata(v) / v.size, np.ones(v.size)])
        F = np.sin(s * u @ rng.standard_normal((2, k)))
        F -= F.mean(0)
        U, sv, _ = np.linalg.svd(F, full_matrices=False)
        return U[:, sv > 1e-6 * sv[0]]
    return float(np.linalg.svd(feats(x).T @ feats(y), compute_uv=False)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--block-memory-mb", type=int, default=256)
    parser.add_argument("--measures", default="spearman,hsic,rdc", help="comma-separated subset to run")
    args = parser.parse_args()
    measures = set(args.measures.split(","))
    n_sp, p = (10_000, 300) if args.quick else (50_000, 1_000)
    n_dep = 2_000 if args.quick else 5_000
    print(f"machine: {platform.processor() or platform.machine()}, numpy {np.__version__}")

    if "spearman" in measures:
        spearman(n_sp, p, args)
    if measures & {"hsic", "rdc"}:
        dependence(n_dep, p, args, measures)


def spearman(n_sp: int, p: int, args: argparse.Namespace) -> None:
    X = planted(n_sp, p)
    ours, t_ours = best_of(lambda: all_pairs(X, Spearman(), 0.95, np, "float32", args.block_memory_mb, threads=THREADS), args.repeats)
    def bound():  # the sort split over the same number of threads as our ranking, then a BLAS product
        halves = np.array_split(np.arange(X.shape[0]), THREADS)
        with ThreadPoolExecutor(THREADS) as pool:
            orders = list(pool.map(lambda rows: np.argsort(X[rows], axis=1), halves))
        R = np.concatenate(orders).astype(np.float32)
        R @ R.T
    lower, t_lower = best_of(bound, args.repeats)
    ranks_only, _ = best_of(lambda: average_ranks(np, X), args.repeats)
    print(f"spearman n={n_sp} p={p}: ours {ours:.2f} s (runs {np.round(t_ours, 2).tolist()}), "
          f"argsort ({THREADS} threads) + product {lower:.2f} s (runs {np.round(t_lower, 2).tolist()}), average_ranks {ranks_only:.2f} s -> ratio {ours / lower:.2f} (target <= 1.5)")
    X[np.random.default_rng(2).random(X.shape) < 0.2] = np.nan
    missing, t_missing = best_of(lambda: all_pairs(X, Spearman(), 0.95, np, "float32", args.block_memory_mb, threads=THREADS), args.repeats)
    print(f"spearman with 20% missing values: ours {missing:.2f} s (runs {np.round(t_missing, 2).tolist()}) "
          f"-> ratio {missing / lower:.2f} to the NaN-free bound")


def dependence(n_dep: int, p: int, args: argparse.Namespace, measures: set[str]) -> None:
    Xd = planted(n_dep, p)
    pairs = p * (p - 1) // 2
    rng = np.random.default_rng(5)
    sample = [tuple(rng.choice(p, 2, replace=False)) for _ in range(10 if args.quick else 20)]
    for name, measure, threshold, peer in (
        ("hsic", HSIC(seed=1), 0.8, hsic_exact_pair),
        ("rdc", RDC(seed=1), 0.9, rdc_paper_pair),
    ):
        if name not in measures:
            continue
        ours, t_ours = best_of(lambda: all_pairs(Xd, measure, threshold, np, "float32", args.block_memory_mb, threads=THREADS), args.repeats)
        width = int(measure.fit(Xd, threshold).widths.max())  # the widest column all_pairs multiplies
        runs = [bare_products(p, n_dep, width, args.block_memory_mb) for _ in range(args.repeats)]
        prod = float(np.median(runs))
        t0 = time.perf_counter()
        for a, b in sample:
            peer(Xd[a], Xd[b])
        per_pair = (time.perf_counter() - t0) / len(sample)
        print(f"{name} n={n_dep} p={p}: ours {ours:.2f} s (runs {np.round(t_ours, 2).tolist()}), "
              f"bare block products {prod:.2f} s (runs {np.round(runs, 2).tolist()}) -> ratio {ours / prod:.2f} (target <= 2); "
              f"per-pair peer {per_pair * 1e3:.1f} ms/pair x {pairs} pairs = {per_pair * pairs:.0f} s (extrapolated) "
              f"-> speed-up {per_pair * pairs / ours:.0f}x (target >= 100)")


if __name__ == "__main__":
    main()
