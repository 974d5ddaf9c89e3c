"""Benchmark: peak memory of the ingest stage does not grow with the number of rows.

Writes the same kind of planted table at N and 4N rows (several Parquet files each), runs ingest in a
fresh process for each, and prints wall time and peak RSS with their ratio. The sample size is fixed
(sample_rows), so only the streamed chunks should touch the extra rows.

    python benchmarks/ingest_memory.py --rows 200000 --columns 200
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

CHILD = """
import json, sys, time
from descriptor_pipeline.logs import peak_rss_mib as peak_mb  # VmHWM: ru_maxrss counts the parent's RSS at fork
from descriptor_pipeline.ingest import IngestSettings, run_ingest
files, out = json.loads(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
run_ingest(files, IngestSettings.with_defaults(sample_rows=int(sys.argv[3])), out + "/stats.parquet", out + "/survivors.txt", out + "/sample.parquet", threads=2)
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mb": peak_mb()}))
"""


def write_table(directory: Path, rows: int, columns: int, files: int, seed: int = 0,
                row_group_size: int | None = None) -> list[str]:
    """Planted descriptor-like data: latent groups plus noise, some missing values, split into files."""
    rng = np.random.default_rng(seed)
    paths = []
    per_file = rows // files
    for f in range(files):
        latent = rng.normal(size=(per_file, max(1, columns // 10)))
        data = {}
        for c in range(columns):
            v = latent[:, c % latent.shape[1]] * (1 + c % 3) + 0.1 * rng.normal(size=per_file)
            if c % 17 == 0:
                v[rng.random(per_file) < 0.1] = np.nan
            data[f"d{c:05d}"] = v
        path = directory / f"part-{f:03d}.parquet"
        pq.write_table(pa.table(data), path, row_group_size=row_group_size)
        paths.append(str(path))
    return paths


def run_child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python process; return the JSON it prints last (time and peak RSS)."""
    res = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def run(files: list[str], out: Path, sample_rows: int) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    return run_child(CHILD, json.dumps(files), str(out), str(sample_rows))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--columns", type=int, default=200)
    parser.add_argument("--files", type=int, default=8)
    parser.add_argument("--sample-rows", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        results = {}
        for factor in (1, 4):
            data = tmp_path / f"x{factor}"
            data.mkdir()
            files = write_table(data, args.rows * factor, args.columns, args.files * factor)
            runs = [run(files, tmp_path / f"out{factor}-{r}", args.sample_rows) for r in range(args.repeats)]
            results[factor] = summarize(runs, args.rows * factor, f"{args.columns} columns")
        print_ratios(results)


def summarize(runs: list[dict], rows: int, what: str) -> dict:
    """Medians (and the RSS spread) of repeated runs at one size; printed as one line."""
    result = {
        "rows": rows,
        "seconds": float(np.median([r["seconds"] for r in runs])),
        "peak_rss_mb": float(np.median([r["peak_rss_mb"] for r in runs])),
        "peak_rss_spread_mb": float(np.ptp([r["peak_rss_mb"] for r in runs])),
    }
    print(f"{rows:>10,d} rows x {what}: {result['seconds']:.2f} s, peak RSS {result['peak_rss_mb']:.0f} MiB "
          f"(spread {result['peak_rss_spread_mb']:.0f} MiB over {len(runs)} runs)")
    return result


def print_ratios(results: dict[int, dict]) -> None:
    """The 4x / 1x ratios of peak RSS (the target) and of time."""
    ratio = results[4]["peak_rss_mb"] / results[1]["peak_rss_mb"]
    print(f"peak RSS ratio 4x rows / 1x rows: {ratio:.3f} (target <= 1.15)")
    print(f"time ratio 4x rows / 1x rows: {results[4]['seconds'] / results[1]['seconds']:.2f}")


if __name__ == "__main__":
    main()
