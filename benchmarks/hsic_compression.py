"""Benchmark: the HSIC pass with compressed random Fourier features against the uncompressed reference.

On the same columns, in one run: the all-pairs time of the uncompressed estimator (``energy_tol=None``,
the previous path) and of the compressed one (the default), the rank the compression chose and the
energy it left out, the largest difference between the two, both estimators' error against the exact
normalized HSIC (centered Gram matrices) on a sample of pairs, and the RDC pass's time on the same
columns (the target is HSIC / RDC <= 1).

    python benchmarks/hsic_compression.py                      # n = 5,000 rows x p = 1,000 planted columns
    python benchmarks/hsic_compression.py --real tests/data/rdkit_descriptors.parquet
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pyarrow.parquet as pq
from pass_speed import hsic_exact_pair, planted  # this folder's sibling script

from descriptor_pipeline.dependence import HSIC, RDC, all_pairs

THREADS = os.cpu_count() or 1


def similarity_matrix(X: np.ndarray, measure, dtype: str) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    result = all_pairs(X, measure, 0.0, np, dtype, threads=THREADS)
    seconds = time.perf_counter() - t0
    S = np.zeros((X.shape[0], X.shape[0]))
    S[result.i, result.j] = result.similarity
    return S, seconds


def real_table(path: str, n: int) -> np.ndarray:
    """The numeric, non-constant columns of a real table without missing values, first ``n`` rows."""
    table = pq.read_table(path)
    cols = []
    for name in table.column_names:
        v = np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=float)[:n] if table[name].type != "string" else None
        if v is not None and np.all(np.isfinite(v)) and np.ptp(v) > 0 and len(np.unique(v)) > 2:
            cols.append(v)
    return np.vstack(cols)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--columns", type=int, default=1000)
    parser.add_argument("--real", default=None, help="a Parquet table of real descriptors instead of planted data")
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--exact-pairs", type=int, default=30, help="pairs checked against the exact HSIC")
    parser.add_argument("--exact-rows", type=int, default=2000, help="rows of the exact check (n^2 Gram matrices)")
    args = parser.parse_args()
    X = real_table(args.real, args.rows) if args.real else planted(args.rows, args.columns)
    p, n = X.shape
    print(f"{'real table ' + args.real if args.real else 'planted'}: {p} columns x {n} rows, {THREADS} threads, {args.dtype}")

    reference = HSIC(seed=1, energy_tol=None)
    S_ref, t_ref = similarity_matrix(X, reference, args.dtype)
    compressed = HSIC(seed=1)
    S_new, t_new = similarity_matrix(X, compressed, args.dtype)
    S_rdc, t_rdc = similarity_matrix(X, RDC(seed=1), args.dtype)
    upper = np.triu_indices(p, k=1)
    diff = S_ref[upper] - S_new[upper]
    print(f"HSIC uncompressed (D = {reference.n_features}): {t_ref:.2f} s")
    print(f"HSIC compressed: {t_new:.2f} s at rank {compressed.width} of {compressed.n_features} "
          f"(energy left out <= {compressed.truncated_energy:.2e}, tolerance {compressed.energy_tol:g})")
    print(f"speed-up over the uncompressed path: {t_ref / t_new:.1f}x")
    print(f"compressed - uncompressed similarity: max {np.max(np.abs(diff)):.2e} (bound 2 x energy left out = "
          f"{2 * compressed.truncated_energy:.2e}, plus {args.dtype} rounding)")
    print(f"RDC pass on the same columns: {t_rdc:.2f} s; HSIC / RDC time: {t_new / t_rdc:.2f} (target <= 1.0; "
          f"uncompressed {t_ref / t_rdc:.2f})")

    rng = np.random.default_rng(0)
    # Pairs for the exact check: half of them the most dependent ones (where the threshold decides).
    order = np.argsort(-S_ref[upper])
    picks = np.r_[order[: args.exact_pairs // 2], rng.choice(order.size, args.exact_pairs - args.exact_pairs // 2, replace=False)]
    m = min(n, args.exact_rows)
    sub = X[:, :m]
    S_ref_m, _ = similarity_matrix(sub, HSIC(seed=1, energy_tol=None), "float64")
    S_new_m, _ = similarity_matrix(sub, HSIC(seed=1), "float64")
    errors_ref, errors_new = [], []
    for k in picks:
        a, b = upper[0][k], upper[1][k]
        exact = hsic_exact_pair(sub[a], sub[b])
        errors_ref.append(abs(S_ref_m[a, b] - exact))
        errors_new.append(abs(S_new_m[a, b] - exact))
    print(f"error against the exact normalized HSIC ({len(picks)} pairs, {m} rows): uncompressed max "
          f"{max(errors_ref):.4f} mean {np.mean(errors_ref):.4f}; compressed max {max(errors_new):.4f} "
          f"mean {np.mean(errors_new):.4f}")


if __name__ == "__main__":
    main()
