"""Benchmark: ingest of an input larger than memory, with its resident memory sampled through the scan.

    python benchmarks/out_of_core.py --gib 30            # writes 30 GiB of Parquet to benchmarks/data/ooc

Writes ``--gib`` GiB of uncompressed float64 Parquet (``--columns`` columns, one file per GiB; reused
when complete), then runs the ingest stage (``run_ingest``, 2 DuckDB threads) in a child process that
records its RSS every second and the end of every batch of files (one DuckDB aggregate query each),
and times DuckDB's plain scan of the same files (every column summed). Prints the RSS at the 10th
second of the scan, the growth after it, the peak, and the ratio of ingest time to the plain scan.
Growth: the highest RSS from the 10th second to the end of the scan's first round over the RSS at
the 10th second.
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
import json, sys, threading, time
from descriptor_pipeline.logs import peak_rss_mib as peak_mb  # VmHWM: ru_maxrss counts the parent's RSS at fork
from pathlib import Path
import descriptor_pipeline.ingest as ingest

files, out = json.loads(sys.argv[1]), Path(sys.argv[2])
samples, batches = [], []
t0 = time.perf_counter()
done = threading.Event()

def rss_mib():
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20

def sampler():
    while not done.wait(1.0):
        samples.append((time.perf_counter() - t0, rss_mib()))

threading.Thread(target=sampler, daemon=True).start()
original_scan = ingest.scan
def scan(schema, settings, threads=1, on_batch=None):
    return original_scan(schema, settings, threads,
                         on_batch=lambda b, rows: batches.append((b, rows, rss_mib(), time.perf_counter() - t0)))
ingest.scan = scan

summary = ingest.run_ingest(files, ingest.IngestSettings.with_defaults(), str(out / "stats.parquet"), str(out / "survivors.txt"),
                            str(out / "sample.parquet"), threads=2)
(out / "result.json").write_text(json.dumps({
    "seconds": time.perf_counter() - t0, "peak_rss_mib": peak_mb(),
    "samples": samples, "batches": batches, "kept": summary["kept"], "rows": summary["rows"]}))
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
    # (batch, rows so far, RSS, seconds) per query; the first round ends with the first that has read every row
    events = r["batches"]
    first_round = events[: next(i + 1 for i, e in enumerate(events) if e[1] == r["rows"])]
    scan_end = first_round[-1][3]
    during = [s for s in r["samples"] if s[0] <= scan_end]
    tenth = during[min(9, len(during) - 1)]
    highest = max(s[1] for s in during[9:] or during)
    growth = (highest - tenth[1]) / tenth[1] * 100
    scan = duckdb_scan(files, args.columns)
    print(f"input: {size:.1f} GiB of Parquet, {len(files)} files, {r['rows']:,} rows x {args.columns} columns "
          f"(memory of this machine: {_mem_gib():.0f} GiB)")
    print(f"ingest: {r['seconds']:.0f} s ({len(first_round)} DuckDB queries, scan {scan_end:.0f} s), "
          f"peak RSS {r['peak_rss_mib']:,.0f} MiB; RSS at second 10 of the scan {tenth[1]:,.0f} MiB, highest from "
          f"there to the end of the scan {highest:,.0f} MiB: growth {growth:+.1f} % (target <= 5 %)")
    print(f"RSS at the end of the scan {during[-1][1]:,.0f} MiB ({(during[-1][1] - tenth[1]) / tenth[1] * 100:+.1f} % "
          f"from second 10); between queries (DuckDB's buffers released): "
          f"{', '.join(f'{e[2]:,.0f}' for e in first_round)} MiB")
    step = max(1, len(during) // 8)
    print(f"RSS along the scan (MiB, every {step} s): {', '.join(f'{s[1]:,.0f}' for s in during[::step])}")
    print(f"DuckDB plain scan: {scan:.0f} s -> ingest / scan {r['seconds'] / scan:.2f} (target <= 2)")


def _mem_gib() -> float:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal"):
            return int(line.split()[1]) / 2**20
    return float("nan")


if __name__ == "__main__":
    main()
