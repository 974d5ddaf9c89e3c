"""Benchmark: peak memory of a dependence pass over many columns (p = 20,000 by default).

Writes a planted sample table (rows x columns, float64 Parquet) plus the column statistics and survivor
list a pass reads, then runs the pass in a child process and reports its peak RSS:

- ``--pass spearman`` runs the whole pass (``run_pass``: read, all pairs, Leiden, outputs);
- ``--pass hsic`` / ``rdc`` with ``--max-blocks N`` stops after N block pairs. At p = 20,000 the full
  HSIC pass is about 8e15 flops (hours on 2 cores), but its memory does not depend on how many block
  pairs are done: every block pair allocates the same feature blocks, product and reduction.

    python benchmarks/pass_memory.py --columns 20000 --rows 20000 --pass spearman
    python benchmarks/pass_memory.py --columns 20000 --rows 5000 --pass hsic --max-blocks 40
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHILD = r"""
import json, sys, time
from descriptor_pipeline.logs import peak_rss_mib as peak_mb  # VmHWM: ru_maxrss counts the parent's RSS at fork
import numpy as np
from descriptor_pipeline.dependence import all_pairs
from pathlib import Path
from descriptor_pipeline.layout import StageFiles
from descriptor_pipeline.passes import make_measure, read_sample, run_pass

args = json.loads(sys.argv[1])
d = args["dir"]
config = {"seed": 42, "keep": [], "prefer": [], "backend": "numpy", "dtype": "float32",
          "block_memory_mb": args["block_memory_mb"],
          "passes": {"spearman": {"threshold": 0.95, "max_rows": 0},
                     "hsic": {"threshold": 0.8, "n_features": 64, "max_rows": 0},
                     "rdc": {"threshold": 0.9, "k": 20, "s": 1 / 6, "max_rows": 0}}}
t0 = time.perf_counter()
rss = []
class Stop(Exception):
    pass
if args["max_blocks"] == 0:
    summary = run_pass(args["pass"], config, StageFiles(Path(d)), f"{d}/survivors.txt", StageFiles(Path(d) / "out"))
    done, total = summary["blocks"], summary["blocks"]
else:
    names = open(f"{d}/survivors.txt").read().split()
    X = read_sample(f"{d}/sample.parquet", sorted(names))
    state = {"done": 0, "total": 0}
    def on_block(done, total):
        state.update(done=done, total=total)
        rss.append(peak_mb())
        if done >= args["max_blocks"]:
            raise Stop
    try:
        all_pairs(X, make_measure(args["pass"], config), config["passes"][args["pass"]]["threshold"], np,
                  "float32", args["block_memory_mb"], on_block)
    except Stop:
        pass
    done, total = state["done"], state["total"]
print(json.dumps({"seconds": time.perf_counter() - t0, "blocks_done": done, "blocks_total": total,
                  "peak_rss_mb": peak_mb(),
                  "peak_rss_after_first_block_mb": rss[0] if rss else None}))
"""


def write_inputs(directory: Path, rows: int, columns: int, seed: int = 0) -> None:
    """Planted sample: groups of 8 columns around one latent (monotone and non-monotone), written in row chunks."""
    names = [f"d{c:05d}" for c in range(columns)]
    schema = pa.schema([(name, pa.float64()) for name in names])
    rng = np.random.default_rng(seed)
    n_latent = max(1, columns // 8)
    chunk = max(1, min(rows, 2**28 // (8 * columns)))  # about 256 MiB of values per row group
    kinds = np.arange(columns) % 4
    with pq.ParquetWriter(directory / "sample.parquet", schema, compression="none") as writer:
        for lo in range(0, rows, chunk):
            m = min(chunk, rows - lo)
            latent = rng.uniform(-1, 1, size=(n_latent, m))
            block = np.empty((columns, m))
            for kind, fn in enumerate((lambda z: z, np.exp, np.square, lambda z: np.sin(3 * z))):
                idx = np.flatnonzero(kinds == kind)
                block[idx] = fn(latent[idx % n_latent])
            block += 0.05 * rng.standard_normal(block.shape)
            writer.write_table(pa.table(list(block), schema=schema))
    pq.write_table(pa.table({"column": names, "missing_ratio": [0.0] * columns, "robust_variance": [1.0] * columns}),
                   directory / "column_stats.parquet")
    (directory / "survivors.txt").write_text("\n".join(names) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--columns", type=int, default=20_000)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--pass", dest="pass_name", choices=("spearman", "hsic", "rdc"), default="spearman")
    parser.add_argument("--max-blocks", type=int, default=0, help="stop after this many block pairs (0 = the whole pass)")
    parser.add_argument("--block-memory-mb", type=int, default=256)
    parser.add_argument("--workdir", default=None, help="where to write the inputs (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        t0 = time.perf_counter()
        write_inputs(Path(tmp), args.rows, args.columns)
        print(f"machine: {platform.machine()}; inputs written in {time.perf_counter() - t0:.0f} s "
              f"({args.rows} rows x {args.columns} columns, {args.rows * args.columns * 8 / 2**30:.2f} GiB of float64 values)")
        payload = json.dumps({"dir": tmp, "pass": args.pass_name, "max_blocks": args.max_blocks, "block_memory_mb": args.block_memory_mb})
        proc = subprocess.run([sys.executable, "-c", CHILD, payload], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"the pass failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    data_mib = args.rows * args.columns * 8 / 2**20
    print(f"{args.pass_name} p={args.columns} n={args.rows}: {result['blocks_done']} of {result['blocks_total']} block pairs "
          f"in {result['seconds']:.0f} s; peak RSS {result['peak_rss_mb']:.0f} MiB "
          f"(after the first block pair: {result['peak_rss_after_first_block_mb'] or float('nan'):.0f} MiB; "
          f"the float64 sample alone is {data_mib:.0f} MiB; limit 24 GiB = 24576 MiB)")


if __name__ == "__main__":
    main()
