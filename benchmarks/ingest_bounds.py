"""Benchmark: ingest's peak memory is bounded by a setting, not by the table's width, length or files.

Three measurements, each ingest in a fresh process (default settings, 2 DuckDB threads), peak RSS from
``ru_maxrss`` and wall time, with DuckDB's plain scan of the same files (every column summed) beside it:

- width: the planted table of benchmarks/wide_workflow.py (20,000 rows x 20,009 columns in 8 files,
  kept in benchmarks/data/ for the next run); target peak <= 2 GiB;
- rows: a table of ``--columns`` columns at ``--rows`` and 4x the rows (4 files each, row groups of
  ROW_GROUP rows); target ratio of the peaks <= 1.10;
- files: the ``--rows`` table in 2 files and in 32 files; target ratio <= 1.10;
- speed (only when asked for): the suite's planted M and L tables (benchmarks/suite.py), ingest against
  DuckDB's plain scan of the same files, side by side; target ratio <= 2.

The peak is the child's own high-water mark (VmHWM): ``ru_maxrss`` of a child also counts the RSS its
parent had when it forked (Linux keeps it across exec), which made earlier runs of ingest_memory.py
report the benchmark's own memory.

    python benchmarks/ingest_bounds.py                       # all three
    python benchmarks/ingest_bounds.py --only rows files     # without the 3.2 GiB wide table
    python benchmarks/ingest_bounds.py --only speed --repeats 3
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from ingest_memory import run_child, write_table  # this folder's sibling scripts
from suite import HERE, SIZES, duckdb_scan, warm_cache, write_data, write_planted

ROW_GROUP = 5_000  # rows per Parquet row group of the rows and files tables: DuckDB holds whole row groups

CHILD = """
import json, logging, sys, time
from descriptor_pipeline.ingest import IngestSettings, run_ingest
from descriptor_pipeline.logs import peak_rss_mib  # VmHWM: ru_maxrss would also count the parent's RSS at fork
files, out = json.loads(sys.argv[1]), sys.argv[2]
t0 = time.perf_counter()
s = run_ingest(files, IngestSettings.with_defaults(), out + "/stats.parquet", out + "/survivors.txt", out + "/sample.parquet", threads=2)
print(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mb": peak_rss_mib(),
                  "columns": s["columns"], "kept": s["kept"], "sample_rows": s["sample_rows"]}))
"""


def measure(files: list[str], out: Path, label: str, repeats: int) -> dict:
    """Median seconds and peak RSS of ``repeats`` ingest runs, and DuckDB's plain scan; one printed line."""
    warm_cache(files)
    runs = []
    for r in range(repeats):
        (out / f"{label}-{r}").mkdir(parents=True)
        runs.append(run_child(CHILD, json.dumps(files), str(out / f"{label}-{r}")))
    scan = float(np.median([duckdb_scan(files) for _ in range(repeats)]))
    result = {
        "seconds": float(np.median([r["seconds"] for r in runs])),
        "peak_rss_mb": float(np.median([r["peak_rss_mb"] for r in runs])),
        "duckdb_scan_seconds": scan,
        "columns": runs[0]["columns"],
        "files": len(files),
    }
    print(f"{label:<28} {runs[0]['columns']:>7,d} columns {len(files):>3d} files: ingest {result['seconds']:7.2f} s "
          f"(DuckDB scan {scan:6.2f} s, ratio {result['seconds'] / scan:5.2f}), peak RSS {result['peak_rss_mb']:7.0f} MiB",
          flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=["speed", "width", "rows", "files"], default=["width", "rows", "files"])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--columns", type=int, default=2_000, help="wider than one aggregate query (1,000)")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    args = parser.parse_args()
    results: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        if "speed" in args.only:
            for size in ("M", "L"):
                files = write_data(size, args.data_dir)
                results[f"speed{size}"] = measure(files, tmp_path / "out", f"{size} ({SIZES[size][0]:,} rows)", args.repeats)
                ratio = results[f"speed{size}"]["seconds"] / results[f"speed{size}"]["duckdb_scan_seconds"]
                print(f"  ingest / DuckDB plain scan at {size}: {ratio:.2f} (target <= 2)")
        if "width" in args.only:
            files = write_planted(args.data_dir / "wide-20000x21170", 20_000, 21_170, "wide")
            results["width"] = measure(files, tmp_path / "out", "p = 20,000", args.repeats)
            print(f"  peak {results['width']['peak_rss_mb'] / 1024:.2f} GiB (target <= 2 GiB)")
        if "rows" in args.only:
            for factor in (1, 4):
                data = tmp_path / f"rows{factor}"
                data.mkdir()
                files = write_table(data, args.rows * factor, args.columns, 4, row_group_size=ROW_GROUP)
                results[f"rows{factor}"] = measure(files, tmp_path / "out", f"{factor}x rows ({args.rows * factor:,})", args.repeats)
            ratio = results["rows4"]["peak_rss_mb"] / results["rows1"]["peak_rss_mb"]
            print(f"  peak RSS 4x rows / 1x rows: {ratio:.3f} (target <= 1.10)")
        if "files" in args.only:
            for n_files in (2, 32):
                data = tmp_path / f"files{n_files}"
                data.mkdir()
                files = write_table(data, args.rows, args.columns, n_files, row_group_size=ROW_GROUP)
                results[f"files{n_files}"] = measure(files, tmp_path / "out", f"{n_files} files", args.repeats)
            ratio = results["files32"]["peak_rss_mb"] / results["files2"]["peak_rss_mb"]
            print(f"  peak RSS 32 files / 2 files: {ratio:.3f} (target <= 1.10)")
    args.data_dir.mkdir(parents=True, exist_ok=True)
    out = args.data_dir / "ingest-bounds.json"
    out.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
