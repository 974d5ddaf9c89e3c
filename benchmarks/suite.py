"""Benchmark suite: the whole workflow at planted sizes S, M and L against its peers and lower bounds.

    pip install -e ".[bench]"
    python benchmarks/suite.py                       # S and M, 3 runs each
    python benchmarks/suite.py --sizes L --repeats 1 # the large size (about 3 GB of Parquet)
    python benchmarks/suite.py --keep-peers          # the workflow and bounds again, the earlier peer figures kept

Per size it writes planted Parquet files (benchmarks/data/SIZE/, kept for the next run), runs the
workflow (`snakemake --cores 2`, NumPy backend) ``--repeats`` times in a fresh directory, each time from
a warm page cache (the input files are read once before), and reads each job's wall time and peak RSS
from Snakemake's benchmark files and each pass's compute time from its summary.json. It also times:

- lower bounds, once right after each workflow run (so that a run and its bounds meet the machine in
  the same state): DuckDB's plain scan of the same files (every column summed), an argsort of every
  column of the Spearman pass's input, and the bare matrix products of each pass's shape;
- peers, after the runs, on the matrix the Spearman pass sees (the ingest sample of the kept columns): pandas
  ``DataFrame.corr(method="spearman")`` without and with missing values, ``scipy.stats.spearmanr``,
  feature-engine ``SmartCorrelatedSelection(method="spearman")``; on the HSIC and RDC passes' inputs,
  hyppo's HSIC and the RDC paper's algorithm, per pair, timed on a sample of pairs and extrapolated.

A peer whose full run would exceed ``--peer-budget`` seconds (predicted from runs on column subsets:
a linear ranking term plus a quadratic pairs term) is timed on larger subsets and extrapolated; the table marks every
extrapolated figure with "~". Figures are medians of the runs; the spread (min-max) is printed beside.

Then, on the real tables in tests/data (``--tables``), the workflow with ``stability_seeds`` 1-4 besides
its seed 42: the final set's Jaccard index over the 5 seeds and the descriptors whose fate flips.

Results are merged by size into docs/benchmark-suite.json, and docs/benchmark-suite.md is written from
it with the machine it ran on.
"""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from threadpoolctl import threadpool_limits

from descriptor_pipeline.demo import make_table
from descriptor_pipeline.dependence import HSIC, RDC, Spearman, all_pairs
from descriptor_pipeline.report import read_benchmarks
from descriptor_pipeline.settings import PASSES
from descriptor_pipeline.stage import job_memory

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
from hsic_compression import compare, report  # noqa: E402
from pass_speed import bare_products, rdc_paper_pair  # noqa: E402

SIZES = {"S": (5_000, 500), "M": (50_000, 1_000), "L": (200_000, 2_000)}
FILES = 8
THREADS = 2  # the workflow runs with --cores 2; the bounds get as many threads



# ---- data -----------------------------------------------------------------------------------------

def planted_counts(columns: int) -> dict[str, int]:
    """make_table's group counts that give about ``columns`` columns (with its ids and quality columns)."""
    return {"n_monotone": round(0.112 * columns), "n_wave": round(0.056 * columns), "n_independent": round(0.3 * columns)}


def write_data(size: str, data_dir: Path) -> list[str]:
    """The planted files of ``size`` (reused when a complete earlier set is there)."""
    rows, columns = SIZES[size]
    return write_planted(data_dir / size, rows, columns, size)


def write_planted(folder: Path, rows: int, columns: int, size: str) -> list[str]:
    """``FILES`` planted files of about ``rows`` x ``columns`` in ``folder`` (reused when complete)."""
    marker = folder / "complete.json"
    spec = {"rows": rows, "columns": columns, "files": FILES, **planted_counts(columns)}
    if marker.exists() and json.loads(marker.read_text()) == spec:
        return sorted(str(p) for p in folder.glob("part-*.parquet"))
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    t0 = time.perf_counter()
    for i in range(FILES):
        table, _ = make_table(n_rows=rows // FILES, seed=1000 + i, **planted_counts(columns))
        pq.write_table(table, folder / f"part-{i:03d}.parquet")
    marker.write_text(json.dumps(spec))
    print(f"[{size}] wrote {FILES} files, {rows:,} rows x {table.num_columns:,} columns, "
          f"{sum(p.stat().st_size for p in folder.glob('*.parquet')) / 2**30:.2f} GiB in {time.perf_counter() - t0:.0f} s", flush=True)
    return sorted(str(p) for p in folder.glob("part-*.parquet"))


# ---- the workflow ---------------------------------------------------------------------------------

def run_workflow(files: list[str], workdir: Path) -> dict:
    """One full run in a fresh ``workdir``: per-job benchmark figures and per-pass summaries."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", str(THREADS), "--config", f"input={json.dumps(files)}", "backend=numpy", "--quiet", "all"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"workflow failed in {workdir}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    bench = read_benchmarks(sorted((workdir / "logs/benchmarks").glob("*.tsv")))
    jobs = {job: {"seconds": s, "max_rss_mib": rss} for job, s, rss in bench.iter_rows()}
    for job, memory in job_memory(workdir / "logs").items():  # the jobs' own VmHWM and their mem_mb requests
        if job in jobs:  # report_benchmarks has a log but no benchmark file (it reads them)
            jobs[job].update(memory)
    ingest = json.loads((workdir / "results/ingest/summary.json").read_text())
    passes = {p: json.loads((workdir / f"results/{p}/summary.json").read_text()) for p in PASSES}
    return {"wall": wall, "jobs": jobs, "ingest": ingest, "passes": passes}


TABLES = {"rdkit": REPO / "tests/data/rdkit_descriptors.parquet", "mordred": REPO / "tests/data/mordred_descriptors.parquet",
          "padel": REPO / "tests/data/padel_descriptors.parquet"}
STABILITY_SEEDS = [1, 2, 3, 4]


def stability_run(table: str, workdir: Path) -> dict:
    """The workflow on a real table with stability_seeds: its results/stability.json and the wall time."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
           "--cores", str(THREADS), "--config", f"input={TABLES[table]}", "backend=numpy", "reduced=false",
           "exclude_columns=[mol_id,smiles,row_id]", f"stability_seeds={json.dumps(STABILITY_SEEDS)}", "--quiet", "all"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"workflow failed in {workdir}:\n{(proc.stdout + proc.stderr)[-3000:]}")
    result = json.loads((workdir / "results/stability.json").read_text())
    return {"wall": time.perf_counter() - t0, "seeds": result["seeds"], "final_sizes": result["final_sizes"],
            "jaccard_min": result["jaccard_min"], "jaccard_mean": result["jaccard_mean"],
            "final_in_every_run": result["final_in_every_run"], "flips": [f["descriptor"] for f in result["flips"]]}


def stability_line(table: str, r: dict) -> str:
    return (f"{table}: final set over seeds {', '.join(map(str, r['seeds']))}: sizes {', '.join(map(str, r['final_sizes']))}; "
            f"Jaccard min {r['jaccard_min']:.3f}, mean {r['jaccard_mean']:.3f}; {r['final_in_every_run']} final in every run, "
            f"{len(r['flips'])} flip ({r['wall']:.0f} s)")


# ---- bounds and peers -----------------------------------------------------------------------------

def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def warm_cache(files: list[str]) -> None:
    """Read every input file once, so that each run meets a warm page cache (a cold one makes the scan
    disk-bound: 64 s instead of about 20 s for the L ingest job here)."""
    for path in files:
        with open(path, "rb") as fh:
            while fh.read(1 << 24):
                pass


def median_and_spread(values: list[float]) -> dict:
    return {"median": float(np.median(values)), "min": float(min(values)), "max": float(max(values)), "runs": len(values)}


def duckdb_scan(files: list[str]) -> float:
    """DuckDB's plain full scan: every numeric column summed, nothing else."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"SET threads = {THREADS}")
    schema = pq.read_schema(files[0])
    numeric = [f.name for f in schema if f.type.num_fields == 0 and str(f.type) not in ("string", "large_string")]
    sums = ", ".join(f'sum("{c}"::DOUBLE)' for c in numeric)
    return timed(lambda: con.execute(f"SELECT {sums} FROM read_parquet({files!r})").fetchall())


def sort_bound(X: np.ndarray) -> float:
    """An argsort of every column (rows of X), split over THREADS threads."""
    parts = np.array_split(np.arange(X.shape[0]), THREADS)
    def run():
        with ThreadPoolExecutor(THREADS) as pool:
            list(pool.map(lambda rows: np.argsort(X[rows], axis=1), parts))
    return timed(run)


def product_bound(p: int, n: int) -> float:
    """One float32 product of the Spearman pass's shape: (p x n) times its transpose."""
    R = np.random.default_rng(0).standard_normal((p, n)).astype(np.float32)
    return timed(lambda: R @ R.T)


def quadratic_peer(fn, X: np.ndarray, budget: float) -> dict:
    """Time ``fn`` on all columns of X (columns x rows), or on subsets and extrapolate.

    The cost of an all-pairs peer is a * p (ranking) + b * p^2 (pairs). Timed on q and 2q columns, the
    fit of a and b predicts the full run; when the prediction fits in ``budget`` the full run is timed,
    else larger subsets are timed and the fit is reported as extrapolated.
    """
    p = X.shape[0]

    fn(X[:2])  # warm-up: imports and first-call costs are not part of the timing

    def fit(q: int) -> tuple[float, float, float]:
        t1, t2 = timed(lambda: fn(X[:q])), timed(lambda: fn(X[: 2 * q]))
        b = max(0.0, (t2 - 2 * t1) / (2 * q * q))  # t(q) = a q + b q^2
        a = max(0.0, (t1 - b * q * q) / q)
        return a * p + b * p * p, t1, t2

    q = min(p // 2, 50)
    predicted, _, t2 = fit(q)
    if p <= 2 * q or predicted <= budget:
        return {"seconds": timed(lambda: fn(X)), "extrapolated": False}
    q = max(q, min(p // 2, int(q * math.sqrt(budget / 8 / max(t2, 1e-9)))))  # subsets worth about budget / 4
    predicted, _, _ = fit(q)
    return {"seconds": predicted, "extrapolated": True, "columns_timed": [q, 2 * q]}


def per_pair_peer(fn, X: np.ndarray, pairs: int, sample: int) -> dict:
    """Median time of one pair (after an untimed warm-up pair) times the number of pairs."""
    rng = np.random.default_rng(5)
    chosen = [tuple(rng.choice(X.shape[0], 2, replace=False)) for _ in range(sample + 1)]
    fn(X[chosen[0][0]], X[chosen[0][1]])
    per_pair = float(np.median([timed(lambda: fn(X[a], X[b])) for a, b in chosen[1:]]))
    return {"seconds": per_pair * pairs, "extrapolated": True, "pairs_timed": sample, "per_pair_ms": per_pair * 1e3}


def pandas_spearman(X: np.ndarray) -> None:
    import pandas as pd

    pd.DataFrame(X.T).corr(method="spearman")


def scipy_spearman(X: np.ndarray) -> None:
    from scipy.stats import spearmanr

    spearmanr(X.T)


def feature_engine_spearman(X: np.ndarray) -> None:
    import pandas as pd
    from feature_engine.selection import SmartCorrelatedSelection

    df = pd.DataFrame(X.T, columns=[f"c{i}" for i in range(X.shape[0])])
    SmartCorrelatedSelection(method="spearman", threshold=0.95, selection_method="variance").fit(df)


def hyppo_hsic(x: np.ndarray, y: np.ndarray) -> float:
    from hyppo.independence import Hsic

    return Hsic().statistic(x[:, None], y[:, None])


@functools.lru_cache(maxsize=1)  # the bounds and the peers read the Spearman input in turn
def pass_input(workdir: Path, pass_name: str, rows: int) -> np.ndarray:
    """The (columns, rows) float64 matrix a pass reads: its input survivors over the first ``rows`` sample rows."""
    before = {"spearman": "ingest", "hsic": "spearman", "rdc": "hsic"}[pass_name]
    names = (workdir / f"results/{before}/survivors.txt").read_text().split()
    table = pq.read_table(workdir / "results/ingest/sample.parquet", columns=names).slice(0, rows)
    return np.stack([table.column(c).to_numpy(zero_copy_only=False).astype(np.float64) for c in names])


def bounds(files: list[str], workdir: Path, run: dict) -> dict[str, float]:
    """One timing of each lower bound, on the input files and the pass shapes of ``run``."""
    warm_cache(files)  # the workflow's later stages may have pushed the input out of the page cache
    out = {"duckdb_scan": duckdb_scan(files)}
    X = pass_input(workdir, "spearman", run["passes"]["spearman"]["rows"])
    out["sort"] = sort_bound(X)
    out["spearman_product"] = product_bound(X.shape[0], X.shape[1])
    for name in ("hsic", "rdc"):
        s = run["passes"][name]
        width = HSIC().width if name == "hsic" else RDC().width
        out[f"{name}_product"] = bare_products(s["descriptors_in"], s["rows"], width, 256)
    return out


def peers(workdir: Path, run: dict, budget: float) -> dict:
    out: dict = {}
    X = pass_input(workdir, "spearman", run["passes"]["spearman"]["rows"])
    clean = np.where(np.isfinite(X), X, np.nanmedian(np.where(np.isfinite(X), X, np.nan), axis=1, keepdims=True))
    gappy = clean.copy()
    gappy[np.random.default_rng(1).random(gappy.shape) < 0.05] = np.nan
    print("  peers: pandas, scipy, feature-engine ...", flush=True)
    out["pandas_spearman"] = quadratic_peer(pandas_spearman, clean, budget)
    out["pandas_spearman_missing"] = quadratic_peer(pandas_spearman, gappy, budget)
    # ours on the same matrix with missing values, in this process (the workflow's input has few):
    # the estimators differ: pandas deletes pairwise (ranks each pair's complete rows again), ours gives a
    # missing value a zero centred feature (docs/measures.md, "Missing values")
    ours = [timed(lambda: all_pairs(gappy, Spearman(), 0.95, np, "float32", 256, threads=THREADS)) for _ in range(3)]
    out["ours_spearman_missing"] = median_and_spread(ours)
    out["scipy_spearmanr"] = quadratic_peer(scipy_spearman, clean, budget)
    out["feature_engine"] = quadratic_peer(feature_engine_spearman, clean, budget)
    print("  peers: per-pair HSIC (hyppo) and RDC (paper) ...", flush=True)
    for name, fn, sample in (("hsic", hyppo_hsic, 6), ("rdc", rdc_paper_pair, 40)):
        s = run["passes"][name]
        Xp = pass_input(workdir, name, s["rows"])
        Xp = np.where(np.isfinite(Xp), Xp, 0.0)
        pairs = s["descriptors_in"] * (s["descriptors_in"] - 1) // 2
        out[f"{name}_per_pair"] = per_pair_peer(fn, Xp, pairs, sample)
    return out


# ---- one size -------------------------------------------------------------------------------------

def job_order(jobs) -> list[str]:
    """Job names in pipeline order (shards before the pass that gathers them)."""
    order = ["demo_data", "ingest", *[j for p in PASSES for j in (f"{p}_shard", p)], "select", "backtrack", "alternatives", "report_figures"]
    return sorted(jobs, key=lambda j: next((k for k, o in enumerate(order) if j.startswith(o)), len(order)))


def run_size(size: str, repeats: int, data_dir: Path, budget: float, with_peers: bool = True) -> dict:
    files = write_data(size, data_dir)
    workdir = data_dir / f"{size}-run"
    runs, timings = [], []
    for r in range(repeats):
        print(f"[{size}] workflow run {r + 1}/{repeats} ...", flush=True)
        warm_cache(files)
        runs.append(run_workflow(files, workdir))
        print(f"[{size}]   {runs[-1]['wall']:.1f} s; lower bounds ...", flush=True)
        # right after each run, so that a run and its bounds see the machine in the same state
        timings.append(bounds(files, workdir, runs[-1]))
    comp = {key: median_and_spread([t[key] for t in timings]) for key in timings[0]}
    print(f"[{size}] compressed and uncompressed HSIC and RDC on the HSIC pass's input ...", flush=True)
    comp["compression"] = compare(pass_input(workdir, "hsic", runs[-1]["passes"]["hsic"]["rows"]))
    if with_peers:
        print(f"[{size}] peers ...", flush=True)
        comp |= peers(workdir, runs[0], budget)
    jobs = job_order(runs[0]["jobs"])
    stages = {job: {"seconds": median_and_spread([r["jobs"][job]["seconds"] for r in runs]),
                    "max_rss_mib": median_and_spread([r["jobs"][job]["max_rss_mib"] for r in runs])} for job in jobs}
    compute = {p: median_and_spread([r["passes"][p]["seconds"]["pairs"] for r in runs]) for p in PASSES}
    first = runs[0]
    return {
        "size": size,
        "rows": first["ingest"]["rows"],
        "columns": first["ingest"]["columns"],
        "parquet_gib": sum(Path(f).stat().st_size for f in files) / 2**30,
        "descriptors": {"ingest": first["ingest"]["kept"], **{p: first["passes"][p]["descriptors_out"] for p in PASSES}},
        "pass_shapes": {p: [first["passes"][p]["descriptors_in"], first["passes"][p]["rows"]] for p in PASSES},
        "workflow_wall": median_and_spread([r["wall"] for r in runs]),
        "peak_rss_mib": max(max(j["max_rss_mib"] for j in r["jobs"].values()) for r in runs),
        "stages": stages,
        "pass_compute": compute,
        "ingest_stage": median_and_spread([r["ingest"]["seconds"] for r in runs]),
        "comparisons": comp,
    }


# ---- report ---------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal"))
        mem_text = f"{mem / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        mem_text = "unknown memory"
    return f"{cpu}, {os.cpu_count()} cores, {mem_text}, {platform.system()} {platform.release()}, Python {platform.python_version()}, NumPy {np.__version__}"


def fmt(x: dict | float, key: str = "seconds") -> str:
    if isinstance(x, dict) and "median" in x:
        spread = f" ({x['min']:.1f}-{x['max']:.1f})" if x["runs"] > 1 else ""
        return f"{x['median']:.2f}{spread}"
    return ("~" if x.get("extrapolated") else "") + f"{x[key]:,.1f}"


def ratios(r: dict) -> list[tuple[str, float, str]]:
    """(what, ratio, target) rows; ratio = ours / reference."""
    c, s, comp = r["comparisons"], r["stages"], r["pass_compute"]
    sp = comp["spearman"]["median"]
    rows = [
        ("ingest job / DuckDB plain scan", s["ingest"]["seconds"]["median"] / c["duckdb_scan"]["median"], "<= 2"),
        *([("ingest stage in process (no start-up) / DuckDB plain scan",
            r["ingest_stage"]["median"] / c["duckdb_scan"]["median"], "")] if "ingest_stage" in r else []),
        ("Spearman compute / (sort + product)", sp / (c["sort"]["median"] + c["spearman_product"]["median"]), "<= 1.5"),
        ("HSIC compute / bare block products", comp["hsic"]["median"] / c["hsic_product"]["median"], ""),
        ("RDC compute / bare block products", comp["rdc"]["median"] / c["rdc_product"]["median"], ""),
    ]
    for peer in ("pandas_spearman", "scipy_spearmanr", "feature_engine"):
        rows.append((f"Spearman compute / {peer}", sp / c[peer]["seconds"], ""))
    if "ours_spearman_missing" in c:
        rows.append(("Spearman, 5 % missing, in process / pandas_spearman_missing",
                     c["ours_spearman_missing"]["median"] / c["pandas_spearman_missing"]["seconds"], ""))
    if "compression" in c:
        k = c["compression"]
        rows += [("HSIC pass / RDC pass, same columns (all_pairs at the pass thresholds)", k["hsic_over_rdc"], "<= 1.0"),
                 ("HSIC pass / uncompressed (all_pairs at the HSIC threshold)", 1 / k["hsic_speedup_at_threshold"], "<= 0.1"),
                 ("HSIC compressed / uncompressed (all_pairs at threshold 0)", 1 / k["hsic_speedup"], ""),
                 ("HSIC error vs exact, compressed / uncompressed (max)",
                  k["exact_check"]["compressed_max"] / k["exact_check"]["uncompressed_max"], "<= 1")]
    rows.append(("HSIC compute / hyppo per pair", comp["hsic"]["median"] / c["hsic_per_pair"]["seconds"], "<= 0.01 at M"))
    rows.append(("RDC compute / paper per pair", comp["rdc"]["median"] / c["rdc_per_pair"]["seconds"], "<= 0.01 at M"))
    return rows


def speedup(ratio: float) -> str:
    return f" ({1 / ratio:,.0f}x faster)" if ratio < 0.5 else ""


def render(results: dict, command: str) -> str:
    lines = ["# Benchmark suite", "", "Generated by `benchmarks/suite.py` (do not edit by hand; rerun it). "
             "Times in seconds, memory in MiB; medians of the runs with (min-max) when there were several. "
             "\"~\": extrapolated (see the script's docstring). Each workflow run starts from a warm page cache, "
             "and the lower bounds are timed once right after each run.", ""]
    for size in sorted((k for k in results if k in SIZES), key=list(SIZES).index):
        r = results[size]
        c = r["comparisons"]
        lines += [f"## {size}: {r['rows']:,} rows x {r['columns']:,} columns ({r['parquet_gib']:.2f} GiB of Parquet, {FILES} files)", "",
                  f"Machine: {r['machine']}. Command: `{r['command']}`, {r['workflow_wall']['runs']} run(s)"
                  + (f"; peers timed with `{r['peers_command']}`" if r.get("peers_command") else "") + ".", "",
                  "Descriptors: " + " -> ".join(f"{k} {r['descriptors'][k]:,}" for k in ("ingest", *PASSES))
                  + ". Pass inputs (columns x rows): "
                  + ", ".join(f"{p} {r['pass_shapes'][p][0]:,} x {r['pass_shapes'][p][1]:,}" for p in PASSES) + ".", "",
                  f"Whole workflow: **{r['workflow_wall']['median']:.1f} s** wall "
                  f"({r['workflow_wall']['min']:.1f}-{r['workflow_wall']['max']:.1f}), peak RSS of any job **{r['peak_rss_mib']:,.0f} MiB**.", "",
                  "| job | wall (s) | peak RSS (MiB) |", "|---|---|---|"]
        for job in job_order(r["stages"]):
            v = r["stages"][job]
            lines.append(f"| {job} | {fmt(v['seconds'])} | {v['max_rss_mib']['median']:,.0f} |")
        if "ingest_stage" in r:
            lines.append(f"| ingest stage in process (its summary.json; no process start-up) | {fmt(r['ingest_stage'])} | |")
        lines += ["", "| pass compute (all pairs) | ours (s) |", "|---|---|"]
        for p in PASSES:
            lines.append(f"| {p} | {fmt(r['pass_compute'][p])} |")
        lines += ["", "| reference | seconds |", "|---|---|",
                  f"| DuckDB plain scan (every column summed) | {fmt(c['duckdb_scan'])} |",
                  f"| argsort of every column of the Spearman input | {fmt(c['sort'])} |",
                  f"| one float32 product of the Spearman shape | {fmt(c['spearman_product'])} |",
                  f"| HSIC bare block products | {fmt(c['hsic_product'])} |",
                  f"| RDC bare block products | {fmt(c['rdc_product'])} |",
                  f"| pandas corr(spearman) | {fmt(c['pandas_spearman'])} |",
                  f"| pandas corr(spearman), 5 % missing | {fmt(c['pandas_spearman_missing'])} |",
                  *([f"| ours (all_pairs, in process), same 5 % missing | {fmt(c['ours_spearman_missing'])} |"]
                    if "ours_spearman_missing" in c else []),
                  f"| scipy.stats.spearmanr | {fmt(c['scipy_spearmanr'])} |",
                  f"| feature-engine SmartCorrelatedSelection(spearman) | {fmt(c['feature_engine'])} |",
                  f"| hyppo HSIC per pair ({c['hsic_per_pair']['per_pair_ms']:.0f} ms/pair) | {fmt(c['hsic_per_pair'])} |",
                  f"| RDC paper per pair ({c['rdc_per_pair']['per_pair_ms']:.1f} ms/pair) | {fmt(c['rdc_per_pair'])} |",
                  *([f"| HSIC uncompressed (D = 64, the path before compression), HSIC pass input | "
                     f"{c['compression']['hsic_uncompressed_s']:.2f} |",
                     f"| RDC padded to k = 20, same columns | {c['compression']['rdc_padded_s']:.2f} |"] if "compression" in c else []),
                  "", "| ratio (ours / reference) | value | target |", "|---|---|---|"]
        for what, value, target in ratios(r):
            lines.append(f"| {what} | {value:.3g}{speedup(value)} | {target} |")
        if "compression" in c:
            lines += ["", "Compressed features on the HSIC pass's input (`benchmarks/hsic_compression.py`'s comparison):", "",
                      *[f"- {line}" for line in report(c["compression"])]]
        lines.append("")
    if results.get("stability"):
        lines += ["## Stability on the real tables (tests/data)", "",
                  "The workflow at its defaults with `stability_seeds` 1-4 (the passes rerun under each seed on the same "
                  "row sample, which is every row of these tables); the Jaccard index of the final sets over the pairs of "
                  "the 5 seeds:", ""]
        lines += [f"- {stability_line(t, r)}" for t, r in sorted(results["stability"].items())]
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="S,M", help="comma-separated, of S, M, L")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=HERE / "data")
    parser.add_argument("--peer-budget", type=float, default=120.0, help="seconds a peer may run before it is extrapolated")
    parser.add_argument("--peers-only", action="store_true",
                        help="time the peers again on an earlier run's data (kept in --data-dir) and keep its other figures")
    parser.add_argument("--render-only", action="store_true", help="only write --out again from the stored results")
    parser.add_argument("--keep-peers", action="store_true",
                        help="run the workflow and the lower bounds again but keep the peers' figures of the earlier run")
    parser.add_argument("--tables", default=",".join(TABLES),
                        help=f"real tables for the stability runs (comma-separated, of {', '.join(TABLES)}; empty: none)")
    parser.add_argument("--out", type=Path, default=REPO / "docs/benchmark-suite.md")
    args = parser.parse_args()
    unknown = sorted({t for t in args.tables.split(",") if t} - set(TABLES))
    if unknown:
        parser.error(f"--tables: unknown {unknown}; choose from {sorted(TABLES)}")
    store = args.out.with_suffix(".json")
    results = json.loads(store.read_text()) if store.exists() else {}
    command = "python benchmarks/suite.py " + " ".join(sys.argv[1:])
    if args.render_only:
        args.out.write_text(render(results, command))
        print(f"wrote {args.out} from {store}")
        return
    limits = threadpool_limits(THREADS)  # bounds and peers get the 2 threads the workflow gets
    for size in [s for s in args.sizes.split(",") if s]:
        if args.peers_only:
            if size not in results:
                raise SystemExit(f"--peers-only: no earlier results for size {size} in {store}; run it in full first")
            print(f"[{size}] peers again, on the data and run directory of the earlier run ...", flush=True)
            workdir = args.data_dir / f"{size}-run"
            run = {"passes": {p: json.loads((workdir / f"results/{p}/summary.json").read_text()) for p in PASSES}}
            r = results[size]
            r["comparisons"].update(peers(workdir, run, args.peer_budget))
            r["peers_command"] = command.strip()
        else:
            if args.keep_peers and size not in results:
                raise SystemExit(f"--keep-peers: no earlier results for size {size} in {store}; run it in full first")
            r = run_size(size, args.repeats, args.data_dir, args.peer_budget, with_peers=not args.keep_peers)
            if args.keep_peers:
                earlier = results[size]
                r["comparisons"] = {**earlier["comparisons"], **r["comparisons"]}
                r["peers_command"] = earlier.get("peers_command") or earlier["command"]
            r["machine"], r["command"] = machine(), command.strip()
        results[size] = r
        store.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        args.out.write_text(render(results, command))
        print(f"[{size}] ratios (ours / reference):")
        for what, value, target in ratios(r):
            print(f"  {what:<45} {value:10.3g}{speedup(value):<22} {target}")
        if "compression" in r["comparisons"]:
            for line in report(r["comparisons"]["compression"]):
                print(f"  {line}")
    limits.restore_original_limits()
    for table in [t for t in args.tables.split(",") if t]:
        print(f"[{table}] the workflow with stability_seeds {STABILITY_SEEDS} ...", flush=True)
        results.setdefault("stability", {})[table] = stability_run(table, args.data_dir / f"{table}-stability")
        print(f"  {stability_line(table, results['stability'][table])}")
        store.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n")
        args.out.write_text(render(results, command))
    print(f"wrote {args.out} and {store}")


if __name__ == "__main__":
    main()
