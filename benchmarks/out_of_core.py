"""Benchmark: ingest of an input larger than memory, with its resident memory sampled at every chunk.

    python benchmarks/out_of_core.py --gib 30            # writes 30 GiB of Parquet to benchmarks/data/ooc

Writes ``--gib`` GiB of uncompressed float64 Parquet (``--columns`` columns, one file per GiB; reused
when complete), then runs the ingest stage (``run_ingest``, 2 DuckDB threads) in a child process that
records its RSS after every streamed chunk, and times DuckDB's plain scan of the same files (every
column summed). Prints the RSS at the 10th chunk, the growth after it, the peak, and
the ratio of ingest time to the plain scan. Growth: the highest RSS from the 10th chunk to the end of
the scan over the RSS at the 10th chunk.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

HERE = Path(__file__).resolve().parent

CHILD = """
import json, resource, sys, time
from pathlib import Path
import descriptor_pipeline.ingest as ingest

files, out = json.loads(sys.argv[1]), Path(sys.argv[2])
samples = []
t0 = time.perf_counter()

def rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20

original_scan = ingest.scan
def scan(schema, settings, threads=1, on_chunk=None):
    return original_scan(schema, settings, threads,
                         on_chunk=lambda chunks, rows: samples.append((chunks, rows, rss_mib(), time.perf_counter() - t0)))
ingest.scan = scan

summary = ingest.run_ingest(files, ingest.IngestSettings(), str(out / "stats.parquet"), str(out / "survivors.txt"),
                            str(out / "sample.parquet"), threads=2)
(out / "result.json").write_text(json.dumps({
    "seconds": time.perf_counter() - t0, "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "samples": samples, "kept": summary["kept"], "rows": summary["rows"]}))
"""


def write_data(folder: Path, gib: int, columns: int) -> list[Path]:
    rows = 2**30 // (8 * columns)
    marker = folder / "complete.json"
    spec = {"gib": gib, "columns": columns, "rows_per_file": rows}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return sorted(folder.glob("part-*.parquet"))
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("part-*.parquet"):
        old.unlink()
    rng = np.random.default_rng(0)
    names = [f"d{c:04d}" for c in range(columns)]
    t0 = time.perf_counter()
    for i in range(gib):
        block = rng.standard_normal((columns, rows))
        block[1::2] = block[0::2] * 2.0 + 0.1 * block[1::2]  # half the columns depend on a neighbour
        pq.write_table(pa.table(dict(zip(names, block))), folder / f"part-{i:03d}.parquet", compression="none")
        print(f"  file {i + 1}/{gib} ({time.perf_counter() - t0:.0f} s)", flush=True)
    marker.write_text(json.dumps(spec))
    return sorted(folder.glob("part-*.parquet"))


def duckdb_scan(files: list[str], columns: int) -> float:
    import duckdb

    con = duckdb.connect(config={"threads": 2})
    sums = ", ".join(f"sum(d{c:04d})" for c in range(columns))
    t0 = time.perf_counter()
    con.execute(f"SELECT {sums} FROM read_parquet({files!r})").fetchall()
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=int, default=30)
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--dir", type=Path, default=HERE / "data" / "ooc")
    args = parser.parse_args()
    files = [str(p) for p in write_data(args.dir, args.gib, args.columns)]
    size = sum(Path(f).stat().st_size for f in files) / 2**30
    out = args.dir / "ingest-out"
    out.mkdir(exist_ok=True)
    (out / "result.json").unlink(missing_ok=True)
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(files), str(out)], capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(res.stderr[-3000:])
    r = json.loads((out / "result.json").read_text())
    samples = r["samples"]
    tenth, last = samples[min(9, len(samples) - 1)], samples[-1]
    highest = max(s[2] for s in samples[9:])
    growth = (highest - tenth[2]) / tenth[2] * 100
    scan = duckdb_scan(files, args.columns)
    print(f"input: {size:.1f} GiB of Parquet, {len(files)} files, {r['rows']:,} rows x {args.columns} columns "
          f"(memory of this machine: {_mem_gib():.0f} GiB)")
    print(f"ingest: {r['seconds']:.0f} s, {len(samples)} chunks, peak RSS {r['peak_rss_mib']:,.0f} MiB; "
          f"RSS at chunk 10 {tenth[2]:,.0f} MiB, highest from there to the end of the scan {highest:,.0f} MiB: "
          f"growth {growth:+.1f} % (target <= 5 %); at the last chunk {last[2]:,.0f} MiB")
    quarter = [s[2] for s in samples[len(samples) // 4 :: max(1, len(samples) // 8)]]
    print(f"RSS along the scan (MiB): {', '.join(f'{x:,.0f}' for x in quarter)}")
    print(f"DuckDB plain scan: {scan:.0f} s -> ingest / scan {r['seconds'] / scan:.2f} (target <= 2)")


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) / 2**20
    return float("nan")


if __name__ == "__main__":
    main()
