"""Helpers shared by the rules: input files, the chain of enabled passes, cluster resources, final outputs."""

import functools

import pyarrow.parquet as pq

from descriptor_pipeline.backend import resolve_backend
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import compile_patterns, expand_inputs
from descriptor_pipeline.passes import PASSES

DEMO_FILES = expand("results/demo/part-{i:03d}.parquet", i=range(4))
ENABLED_PASSES = [p for p in PASSES if config["passes"][p]["enabled"]]

try:
    compile_patterns(config["exclude_columns"])
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None


# Expanded once, when the workflow is read: a glob that matches nothing stops here with one line
# (an error raised inside an input function would reach the user wrapped in a traceback).
try:
    INPUT_FILES = expand_inputs(config["input"]) if config["input"] else DEMO_FILES
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None


def survivors_before(pass_name):
    """Survivor list of the stage that feeds ``pass_name`` (the previous enabled pass, or ingest)."""
    earlier = [p for p in ENABLED_PASSES if PASSES.index(p) < PASSES.index(pass_name)]
    return (
        f"results/{earlier[-1]}/survivors.txt"
        if earlier
        else "results/ingest/survivors.txt"
    )


def final_survivors():
    """Survivor list of the last enabled stage."""
    return (
        f"results/{ENABLED_PASSES[-1]}/survivors.txt"
        if ENABLED_PASSES
        else "results/ingest/survivors.txt"
    )


def pass_gpus():
    """GPUs a dependence pass asks for, so that `--resources gpu=N` (local) or the cluster schedules it.

    1 with backend cupy, decided from the config and not from this machine: on a cluster the submit host
    usually has no GPU, and the pass checks the device where it runs. With backend auto, 1 when this
    machine has a usable GPU (so on a cluster, set cupy explicitly).
    """
    if config["backend"] == "auto":
        return int(resolve_backend("auto") == "cupy")
    return int(config["backend"] == "cupy")


def check_local_gpu():
    """Stop a local run with backend cupy before any rule when this machine has no usable GPU."""
    if config["backend"] == "cupy" and workflow.local_exec:
        try:
            resolve_backend("cupy")
        except PipelineError as exc:
            raise WorkflowError(str(exc)) from None


# ---- cluster resources ----------------------------------------------------------------------------
# What each job asks a cluster scheduler for (SLURM: --mem, --time, --gpus). Local runs only use
# `threads` and `gpu`. Every value is a default: a profile overrides it per rule with set-resources
# (see profiles/slurm/config.yaml). Memory and time limits grow with the attempt, so a job killed for
# memory or time is resubmitted with twice as much when the profile sets `retries`.

# Time limit of the first attempt, in minutes. HSIC is the slowest pass (minutes for 1,000 columns x
# 5,000 rows on 2 cores), and pass times grow with the square of the columns (docs/benchmarks.md).
RUNTIME_MINUTES = {
    "demo_data": 10,
    "ingest": 120,
    "spearman": 120,
    "hsic": 720,
    "rdc": 240,
    "select": 10,
    "reduce": 120,
    "backtrack": 30,
    "alternatives": 10,
    "report_figures": 10,
}
STABILITY_SEEDS = [
    s for s in dict.fromkeys(config["stability_seeds"]) if s != config["seed"]
]


def runtime(rule_name):
    """Time limit in minutes of ``rule_name``'s job: RUNTIME_MINUTES times the attempt; for the
    stability job, the enabled passes' minutes once per seed."""
    if rule_name == "stability":
        minutes = max(1, len(STABILITY_SEEDS)) * sum(
            RUNTIME_MINUTES[p] for p in ENABLED_PASSES
        )
    else:
        minutes = RUNTIME_MINUTES[rule_name]
    return lambda wildcards, attempt: minutes * attempt


@functools.cache
def input_values_mb(max_rows):
    """MiB of float64 values of every input column over at most ``max_rows`` rows (0 = all rows).

    Read from the Parquet footers when the workflow is parsed: the columns of the first file (all files
    have the same) and row counts until ``max_rows`` is reached. An upper bound of what ingest keeps.
    None when the input is the demo (written by a rule) or cannot be read (the ingest rule reports that).
    """
    if not config["input"]:
        return None
    try:
        columns = len(pq.read_schema(INPUT_FILES[0]).names)
        rows = 0
        for path in INPUT_FILES:
            rows += pq.read_metadata(path).num_rows
            if max_rows and rows >= max_rows:
                rows = max_rows
                break
    except Exception:
        return None
    return columns * rows * 8 / 2**20


def rows_used(pass_name=None):
    """Rows a stage holds at most: the row sample (`sample_rows`), cut to the pass's `max_rows`; 0 = all."""
    limits = [config["sample_rows"]]
    if pass_name is not None:
        limits.append(config["passes"][pass_name]["max_rows"])
    limits = [n for n in limits if n > 0]
    return min(limits) if limits else 0


def _scaled(megabytes):
    """A resource function: ``megabytes`` (rounded up to 100 MB) times the attempt."""
    megabytes = int(-(-megabytes // 100) * 100)
    return lambda wildcards, attempt: megabytes * attempt


@functools.cache
def largest_row_group_mb():
    """MiB of the largest Parquet row group (uncompressed) in the first 8 input files; 0 if unknown."""
    try:
        return max(
            meta.row_group(i).total_byte_size / 2**20
            for meta in (pq.read_metadata(path) for path in INPUT_FILES[:8])
            for i in range(meta.num_row_groups)
        )
    except Exception:
        return 0


def ingest_mem_mb():
    """Memory of ingest in MB: 1,500 for DuckDB's buffers and aggregate states, 10 times the row
    sample's values (the sample candidates pass through Arrow and NumPy, and the statistics on the
    sample hold several copies of it) and 3 times the largest row group (DuckDB decodes whole row
    groups, one per thread).

    An upper bound fitted to measured peaks (docs/benchmarks.md) of the earlier, streaming scan: 1.4
    GiB for 50,000 rows x 967 columns in 39 MiB row groups, 1.9 GiB for the same in 403 MiB row groups,
    3.9 GiB for 200,000 x 1,911 in 400 MiB row groups, 3.7 GiB for 20 million x 200 in 1 GiB row
    groups. The DuckDB aggregate scan peaks lower (3.2 GiB at 200,000 x 1,911). 4,000 when the input
    size is not known at parse time (the demo).
    """
    values = input_values_mb(rows_used())
    if values is None:
        return _scaled(4000)
    return _scaled(1500 + 10 * values + 3 * largest_row_group_mb())


def reduce_mem_mb():
    """Memory of the reduce job in MB: 1,000 plus twice the largest row group (one row group of the kept
    columns is read, then written)."""
    return _scaled(1000 + 2 * largest_row_group_mb())


def pass_mem_mb(pass_name):
    """Memory of a dependence pass in MB: 1,000 + 12 x `block_memory_mb` (block products and their
    temporaries, 4x; the feature cache, at most 8x) plus twice the values of the sample it reads (a
    float64 copy and its features).

    An upper bound from the input's width, as the survivors of the earlier stages are not known when
    the workflow is parsed (Spearman over 20,000 columns x 20,000 rows: 10.2 GB asked, 5.5 GiB used).
    8,000 when the input size is not known at parse time (the demo).
    """
    values = input_values_mb(rows_used(pass_name))
    if values is None:
        return _scaled(8000)
    return _scaled(1000 + 12 * config["block_memory_mb"] + 2 * values)


def max_pass_mem_mb():
    """Memory of the stability job in MB, that of the largest enabled pass (it runs them one at a time)."""
    sizes = [pass_mem_mb(p)(None, 1) for p in ENABLED_PASSES] or [1000]
    return _scaled(max(sizes))


def shard_count(pass_name):
    """Jobs the block pairs of ``pass_name`` are split over (config `passes.P.shards`)."""
    return config["passes"][pass_name]["shards"]


def edge_shards(pass_name):
    """The shard files rule ``pass_name`` gathers; none when the pass computes its pairs itself."""
    n = shard_count(pass_name)
    return (
        []
        if n == 1
        else [f"results/{pass_name}/shards/edges-{k}.parquet" for k in range(n)]
    )


def gather_gpus(pass_name):
    """GPUs of a pass's own job: none when it only gathers shards computed by other jobs."""
    return pass_gpus() if shard_count(pass_name) == 1 else 0


def pass_outputs(pass_name):
    return {
        "clusters": f"results/{pass_name}/clusters.parquet",
        "edges": f"results/{pass_name}/edges.parquet",
        "survivors": f"results/{pass_name}/survivors.txt",
        "summary": f"results/{pass_name}/summary.json",
    }


def run_outputs():
    """Every output of a run but the benchmark figure (rule report_benchmarks waits for these)."""
    return [
        "results/ingest/column_stats.parquet",
        *[pass_outputs(p)["summary"] for p in ENABLED_PASSES],
        "results/final_descriptors.txt",
        "results/surviving_descriptors_clusters.json",
        "results/alternatives.tsv",
        *(["results/stability.json"] if STABILITY_SEEDS else []),
        *(["results/reduced"] if config["reduced"] else []),
        *[str(path) for path in report_figure_outputs()],
    ]


def final_outputs():
    """What `rule all` asks for."""
    return run_outputs() + ["results/report/benchmarks.svg"]


# ---- report ---------------------------------------------------------------------------------------

# (file under results/report/, caption in workflow/report/, label in the report)
OVERVIEW_FIGURES = [
    ("funnel.svg", "funnel.rst", "descriptors through the stages"),
    ("ingest_drops.svg", "ingest_drops.rst", "columns removed at ingest"),
    ("settings.html", "settings.rst", "run settings and versions"),
]
RESULT_FIGURES = [
    ("top_descriptors.svg", "top_descriptors.rst", "top survivors by alternatives"),
    ("predictability.svg", "predictability.rst", "predictability of the stand-ins"),
]
STABILITY_FIGURES = [
    ("stability.svg", "stability.rst", "final set across seeds"),
]
PASS_FIGURES = [
    ("similarity.svg", "similarity.rst", "similarity histogram"),
    ("cluster_sizes.svg", "cluster_sizes.rst", "cluster sizes"),
    ("largest_clusters.svg", "largest_clusters.rst", "largest clusters"),
]


def _report_item(path, caption, category, label, subcategory=None):
    # `return report(...)`: a line that starts with `report` would be read as the report: directive
    return report(
        path,
        caption=f"../report/{caption}",
        category=category,
        subcategory=subcategory,
        labels={"result": label},
    )


def _report_items(figures, category, folder="results/report", subcategory=None):
    return [
        _report_item(f"{folder}/{name}", caption, category, label, subcategory)
        for name, caption, label in figures
    ]


def report_figure_outputs():
    """What rule report_figures draws, marked for `snakemake --report`."""
    items = _report_items(OVERVIEW_FIGURES, "1. Overview")
    items += _report_items(RESULT_FIGURES, "3. Results")
    if STABILITY_SEEDS:
        items += _report_items(STABILITY_FIGURES, "3. Results")
    for p in ENABLED_PASSES:
        items += _report_items(PASS_FIGURES, "2. Passes", f"results/report/{p}", p)
    return items


def benchmark_files():
    """Snakemake's benchmark file of every job of the run, in pipeline order (rule report_benchmarks)."""
    jobs = [] if config["input"] else ["demo_data"]
    jobs.append("ingest")
    for p in ENABLED_PASSES:
        if shard_count(p) > 1:
            jobs += [f"{p}_shard-{k}" for k in range(shard_count(p))]
        jobs.append(p)
    jobs += [
        "select",
        "backtrack",
        "alternatives",
        *(["stability"] if STABILITY_SEEDS else []),
        "report_figures",
    ]
    return [f"logs/benchmarks/{job}.tsv" for job in jobs]
