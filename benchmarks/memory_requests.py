"""Benchmark: what each rule asks the scheduler for (``mem_mb``) against the peak its job reaches.

Runs the whole workflow (`snakemake --cores 2`, NumPy backend, default settings) on the planted tables of
the suite (S, M, L: benchmarks/suite.py) and of benchmarks/wide_workflow.py (p = 20,000), and reads every
job's log: each job writes its own peak resident memory (VmHWM; Snakemake's benchmark files miss the
peak of jobs shorter than their sampling interval) and its request. Prints per rule and size the
request, the peak and their ratio (target: at least 1, at most 1.5), and writes
benchmarks/data/memory-requests.json.

    python benchmarks/memory_requests.py                 # S and M
    python benchmarks/memory_requests.py --sizes S M L wide
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from suite import HERE, job_order, run_workflow, warm_cache, write_data, write_planted  # this folder's sibling

from descriptor_pipeline.stage import job_memory

WIDE = ("wide-20000x21170", 20_000, 21_170)  # benchmarks/wide_workflow.py's table: 20,009 columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", default=["S", "M"], choices=["S", "M", "L", "wide"])
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    args = parser.parse_args()
    out = args.data_dir / "memory-requests.json"
    results = json.loads(out.read_text()) if out.exists() else {}
    for size in args.sizes:
        if size == "wide":
            files = write_planted(args.data_dir / WIDE[0], WIDE[1], WIDE[2], "wide")
        else:
            files = write_data(size, args.data_dir)
        warm_cache(files)
        workdir = args.data_dir / f"memory-{size}-run"
        run = run_workflow(files, workdir)
        jobs = job_memory(workdir / "logs")
        results[size] = jobs
        print(f"[{size}] {run['wall']:.0f} s")
        print(f"{'job':<22} {'asked MiB':>10} {'peak MiB':>9} {'ratio':>6}")
        for job in job_order(jobs):
            figures = jobs[job]
            asked = figures.get("asked_mib")
            ratio = f"{asked / figures['peak_mib']:6.2f}" if asked else "     -"
            flag = "" if asked is None or 1.0 <= asked / figures["peak_mib"] <= 1.5 else "  (target 1-1.5)"
            print(f"{job:<22} {asked or 0:>10.0f} {figures['peak_mib']:>9.0f} {ratio}{flag}", flush=True)
        args.data_dir.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
