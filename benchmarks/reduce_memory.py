"""Benchmark: peak memory of writing results/reduced/ does not grow with the rows of a file.

Writes the same planted table at N and 4N rows into the same number of files (so each file is 4x
longer, in row groups of a fixed size), projects every file on a carried id column and a quarter of
the descriptors with the reduce stage's own function, in a fresh process for each size, and prints wall
time and peak RSS with their ratio. Memory is bounded by one row group of the projected columns, so
it follows the row-group size of the input, not the length of the files.

    python benchmarks/reduce_memory.py --rows 1000000 --columns 200 --row-group 50000
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from ingest_memory import print_ratios, run_child, summarize  # this folder's sibling script

CHILD = """
import json, sys, time
from descriptor_pipeline.logs import peak_rss_mib as peak_mb  # VmHWM: ru_maxrss counts the parent's RSS at fork
from descriptor_pipeline.reduce import reduce_files
files, names, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3]
t0 = time.perf_counter()
reduce_files(files, names, out, carry=["mol_id"])
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mb": peak_mb()}))
"""


def write_files(directory: Path, rows: int, columns: int, files: int, row_group: int, seed: int = 0) -> list[str]:
    """``files`` Parquet files of ``rows`` rows in all: an id column and float64 descriptors."""
    rng = np.random.default_rng(seed)
    paths = []
    per_file = rows // files
    for f in range(files):
        path = directory / f"part-{f:03d}.parquet"
        with pq.ParquetWriter(path, pa.schema([("mol_id", pa.int64())] + [(f"d{c:05d}", pa.float64()) for c in range(columns)])) as writer:
            for lo in range(0, per_file, row_group):
                n = min(row_group, per_file - lo)
                data = {"mol_id": np.arange(f * per_file + lo, f * per_file + lo + n)}
                data.update({f"d{c:05d}": rng.normal(size=n) for c in range(columns)})
                writer.write_table(pa.table(data), row_group_size=row_group)
        paths.append(str(path))
    return paths


def run(files: list[str], names: list[str], out: Path) -> dict:
    return run_child(CHILD, json.dumps(files), json.dumps(names), str(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--row-group", type=int, default=50_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    names = [f"d{c:05d}" for c in range(0, args.columns, 4)]
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        results = {}
        for factor in (1, 4):
            data = tmp_path / f"x{factor}"
            data.mkdir()
            files = write_files(data, args.rows * factor, args.columns, args.files, args.row_group)
            size = sum(Path(f).stat().st_size for f in files) / 2**20
            runs = [run(files, names, tmp_path / f"out{factor}-{r}") for r in range(args.repeats)]
            what = f"{args.columns} columns ({size:,.0f} MiB of Parquet in {args.files} files) -> {len(names)} + 1 columns"
            results[factor] = summarize(runs, args.rows * factor, what)
        print_ratios(results)


if __name__ == "__main__":
    main()
