"""Benchmark: the whole workflow on a wide planted table (default 20,000 rows x 20,000 columns).

Writes the planted files (benchmarks/data/wide-ROWSxCOLUMNS/, kept for the next run; the same generator
as the suite's S, M and L), runs ingest -> spearman -> hsic -> rdc -> select -> backtrack with
`snakemake --cores 2` (NumPy backend, default settings: all 20,000 rows sampled, Spearman on all of them,
HSIC and RDC on 5,000) in a fresh directory, and prints each job's wall time and peak RSS (Snakemake's
benchmark files), each pass's shape, survivors and chosen feature ranks. The figures are also written to
benchmarks/data/wide-ROWSxCOLUMNS-run.json.

    python benchmarks/wide_workflow.py                          # 20,000 x 20,000
    python benchmarks/wide_workflow.py --rows 5000 --columns 5000
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from suite import HERE, PASSES, job_order, run_workflow, warm_cache, write_planted  # this folder's sibling script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--columns", type=int, default=20_000)
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    args = parser.parse_args()
    name = f"wide-{args.rows}x{args.columns}"
    files = write_planted(args.data_dir / name, args.rows, args.columns, name)
    warm_cache(files)
    print(f"[{name}] workflow ...", flush=True)
    t0 = time.perf_counter()
    run = run_workflow(files, args.data_dir / f"{name}-run")
    print(f"[{name}] {time.perf_counter() - t0:.0f} s in all; {run['ingest']['columns']:,} columns, "
          f"{run['ingest']['kept']:,} kept by ingest")
    print(f"{'job':<22} {'seconds':>9} {'peak RSS MiB':>13}")
    for job in job_order(run["jobs"]):
        print(f"{job:<22} {run['jobs'][job]['seconds']:>9.1f} {run['jobs'][job]['max_rss_mib']:>13.0f}")
    for p in PASSES:
        s = run["passes"][p]
        ranks = s.get("features") or {}
        rank = f", ranks mean {ranks['rank_mean']:.1f} largest {ranks['rank_max']}" if ranks else ""
        print(f"{p}: {s['descriptors_in']:,} -> {s['descriptors_out']:,} descriptors on {s['rows']:,} rows, "
              f"pairs {s['seconds']['pairs']:.1f} s, clustering {s['seconds']['cluster']:.1f} s{rank}")
    out = args.data_dir / f"{name}-run.json"
    out.write_text(json.dumps(run, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
