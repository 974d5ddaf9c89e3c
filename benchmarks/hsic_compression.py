"""Benchmark: the HSIC pass with compressed random Fourier features against the uncompressed reference.

On the same columns, in one run: the all-pairs time of the uncompressed estimator (``energy_tol=None``,
the previous path) and of the compressed one (the default), the per-column ranks the compression chose
and the energy it left out, the largest difference between the two, both estimators' error against the
exact normalized HSIC (centered Gram matrices) on a sample of pairs, and the RDC pass on the same columns
with and without its per-column ranks. All of these at threshold 0 (every pair's value, as the
comparisons need); then each pass as the workflow runs it, at its default threshold (config/schema.yaml:
HSIC 0.8, where the HSIC screen rules most pairs out from their top directions; RDC 0.9), the uncompressed
HSIC as the reference: the target is HSIC / RDC <= 1 there.

    python benchmarks/hsic_compression.py                      # n = 5,000 rows x p = 1,000 planted columns
    python benchmarks/hsic_compression.py --real tests/data/rdkit_descriptors.parquet
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from pass_speed import hsic_exact_pair, planted  # this folder's sibling script

from descriptor_pipeline.dependence import HSIC, RDC, all_pairs
from descriptor_pipeline.settings import defaults, load_schema

THREADS = os.cpu_count() or 1
DEFAULTS = defaults(load_schema())["passes"]  # the schema holds every default


def pass_seconds(X: np.ndarray, measure, threshold: float, dtype: str, repeats: int = 2) -> tuple[float, dict]:
    """Best of ``repeats`` all-pairs times at the pass threshold (fit included, as in a pass), and what
    the measure's fit chose."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = all_pairs(X, measure, threshold, np, dtype, threads=THREADS)
        times.append(time.perf_counter() - t0)
    return min(times), result.features or {}


def similarity_matrix(X: np.ndarray, measure, dtype: str) -> tuple[np.ndarray, float, dict | None]:
    """All pairs' similarities, the seconds they took and what the measure's fit chose."""
    t0 = time.perf_counter()
    result = all_pairs(X, measure, 0.0, np, dtype, threads=THREADS)
    seconds = time.perf_counter() - t0
    S = np.zeros((X.shape[0], X.shape[0]))
    S[result.i, result.j] = result.similarity
    return S, seconds, result.features


def real_table(path: str, n: int) -> np.ndarray:
    """The numeric, non-constant columns of a real table without missing values, first ``n`` rows."""
    table = pq.read_table(path)
    cols = []
    for name in table.column_names:
        v = np.asarray(table[name].to_numpy(zero_copy_only=False), dtype=float)[:n] if table[name].type != "string" else None
        if v is not None and np.all(np.isfinite(v)) and np.ptp(v) > 0 and len(np.unique(v)) > 2:
            cols.append(v)
    return np.vstack(cols)


def compare(X: np.ndarray, dtype: str = "float32", exact_pairs: int = 30, exact_rows: int = 2000) -> dict:
    """Both estimators of each pass on the columns of X (columns, rows): times, ranks, differences and
    HSIC's error against the exact normalized HSIC on a sample of pairs."""
    p, n = X.shape
    reference = HSIC(seed=1, energy_tol=None)
    S_ref, t_ref, _ = similarity_matrix(X, reference, dtype)
    compressed = HSIC(seed=1)
    S_new, t_new, hsic_ranks = similarity_matrix(X, compressed, dtype)
    rdc_padded = RDC(seed=1, compress=False)
    R_ref, t_rdc_ref, _ = similarity_matrix(X, rdc_padded, dtype)
    rdc = RDC(seed=1)
    R_new, t_rdc, rdc_ranks = similarity_matrix(X, rdc, dtype)
    upper = np.triu_indices(p, k=1)
    out = {
        "columns": p, "rows": n, "threads": THREADS, "dtype": dtype,
        "hsic_uncompressed_s": t_ref, "hsic_s": t_new, "hsic_speedup": t_ref / t_new, "hsic_ranks": hsic_ranks,
        "hsic_max_difference": float(np.max(np.abs(S_ref[upper] - S_new[upper]))),
        "rdc_padded_s": t_rdc_ref, "rdc_s": t_rdc, "rdc_speedup": t_rdc_ref / t_rdc, "rdc_ranks": rdc_ranks,
        "rdc_max_difference": float(np.max(np.abs(R_ref[upper] - R_new[upper]))),
        "hsic_over_rdc_all_pairs": t_new / t_rdc, "hsic_over_rdc_before": t_ref / t_rdc_ref,
    }
    t_h, t_r = DEFAULTS["hsic"]["threshold"], DEFAULTS["rdc"]["threshold"]
    hsic_s, chosen = pass_seconds(X, HSIC(seed=1), t_h, dtype)
    at = {"hsic_threshold": t_h, "rdc_threshold": t_r,
          "hsic_uncompressed_s": pass_seconds(X, HSIC(seed=1, energy_tol=None), t_h, dtype, 1)[0],
          "hsic_s": hsic_s, "rdc_s": pass_seconds(X, RDC(seed=1), t_r, dtype)[0],
          "screen": chosen.get("screen")}  # the screen's width where the fit turned it on, else None
    out["at_threshold"] = at
    out["hsic_over_rdc"] = at["hsic_s"] / at["rdc_s"]
    out["hsic_speedup_at_threshold"] = at["hsic_uncompressed_s"] / at["hsic_s"]
    rng = np.random.default_rng(0)
    # Pairs for the exact check: half of them the most dependent ones (where the threshold decides).
    order = np.argsort(-S_ref[upper])
    picks = np.r_[order[: exact_pairs // 2], rng.choice(order.size, exact_pairs - exact_pairs // 2, replace=False)]
    m = min(n, exact_rows)
    sub = X[:, :m]
    S_ref_m, _, _ = similarity_matrix(sub, HSIC(seed=1, energy_tol=None), "float64")
    S_new_m, _, _ = similarity_matrix(sub, HSIC(seed=1), "float64")
    errors_ref, errors_new = [], []
    for k in picks:
        a, b = upper[0][k], upper[1][k]
        exact = hsic_exact_pair(sub[a], sub[b])
        if not np.isfinite(exact):  # a column constant (or missing) on the check's rows: no exact value
            continue
        errors_ref.append(abs(S_ref_m[a, b] - exact))
        errors_new.append(abs(S_new_m[a, b] - exact))
    out["exact_check"] = {"pairs": len(errors_ref), "rows": m, "uncompressed_max": max(errors_ref), "uncompressed_mean": float(np.mean(errors_ref)),
                          "compressed_max": max(errors_new), "compressed_mean": float(np.mean(errors_new))}
    return out


def report(r: dict) -> list[str]:
    """The comparison as printed lines."""
    h, d, e, a = r["hsic_ranks"], r["rdc_ranks"], r["exact_check"], r["at_threshold"]
    return [
        f"HSIC uncompressed (D = {h['n_features']}): {r['hsic_uncompressed_s']:.2f} s",
        f"HSIC compressed: {r['hsic_s']:.2f} s; ranks mean {h['rank_mean']:.1f}, median {h['rank_median']:g}, largest "
        f"{h['rank_max']} of {h['n_features']} (energy left out <= {h['energy_left_out_max']:.2e}, tolerance {h['energy_tol']:g})",
        f"HSIC speed-up over the uncompressed path: {r['hsic_speedup']:.1f}x",
        f"HSIC compressed - uncompressed similarity: max {r['hsic_max_difference']:.2e} (bound 2 x energy left out = "
        f"{2 * h['energy_left_out_max']:.2e}, plus {r['dtype']} rounding)",
        f"RDC padded to k = {d['n_features']}: {r['rdc_padded_s']:.2f} s; per-column ranks (mean {d['rank_mean']:.1f}, largest "
        f"{d['rank_max']}): {r['rdc_s']:.2f} s, {r['rdc_speedup']:.1f}x, max difference {r['rdc_max_difference']:.2e}",
        f"HSIC / RDC all-pairs time at threshold 0: {r['hsic_over_rdc_all_pairs']:.2f} (before both compressions "
        f"{r['hsic_over_rdc_before']:.2f})",
        f"at the pass thresholds (HSIC {a['hsic_threshold']:g}, screen {a['screen']}; RDC {a['rdc_threshold']:g}): "
        f"HSIC uncompressed {a['hsic_uncompressed_s']:.2f} s, HSIC {a['hsic_s']:.2f} s "
        f"({r['hsic_speedup_at_threshold']:.1f}x), RDC {a['rdc_s']:.2f} s",
        f"HSIC / RDC pass time on the same columns, at the pass thresholds: {r['hsic_over_rdc']:.2f} (target <= 1.0)",
        f"error against the exact normalized HSIC ({e['pairs']} pairs, {e['rows']} rows): uncompressed max "
        f"{e['uncompressed_max']:.4f} mean {e['uncompressed_mean']:.4f}; compressed max {e['compressed_max']:.4f} "
        f"mean {e['compressed_mean']:.4f}",
    ]


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
    for line in report(compare(X, args.dtype, args.exact_pairs, args.exact_rows)):
        print(line)


if __name__ == "__main__":
    main()
