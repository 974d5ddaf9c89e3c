"""What each job asks a cluster scheduler for (SLURM: --mem, --time, --gpus): time and memory estimates."""

import functools

import pyarrow.parquet as pq

from descriptor_pipeline.scan.scanner import COLUMN_GROUP

# What each job asks a cluster scheduler for (SLURM: --mem, --time, --gpus). Local runs only use
# `threads` and `gpu`. Every value is a default: a profile overrides it per rule with set-resources
# (see profiles/slurm/config.yaml). Memory and time limits grow with the attempt, so a job killed for
# memory or time is resubmitted with twice as much when the profile sets `retries`.

# Time limit of the first attempt, in minutes; the figures they come from: docs/benchmarks.md,
# "Memory and time requests of the rules".
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
def input_columns():
    """Columns of the first input file; 0 if unknown (the demo, or a file that cannot be read)."""
    try:
        return len(pq.read_schema(INPUT_FILES[0]).names)
    except Exception:
        return 0


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
    """Memory of ingest in MB: 1,500 for DuckDB's buffers and aggregate states, twice the sample's values
    held in memory (the sample and one block in flight) and 3 times the largest row group's share that one
    query reads (DuckDB decodes whole row groups, one per thread; a query reads at most COLUMN_GROUP
    columns); 4,000 when the input size is not known at parse time (the demo).

    A sample larger than `ingest.memory_mb` is kept in a temporary file and only blocks of a quarter of
    that budget are in memory, so the request is bounded by the setting, not by the table's width.
    Measured against: docs/benchmarks.md, "Memory and time requests of the rules".
    """
    values = input_values_mb(rows_used())
    if values is None:
        return _scaled(4000)
    budget = config["ingest"]["memory_mb"]
    held = values if values <= budget else budget / 4
    columns = input_columns()
    share = min(1.0, COLUMN_GROUP / columns) if columns else 1.0
    return _scaled(1500 + 2 * held + 3 * share * largest_row_group_mb())


def reduce_mem_mb():
    """Memory of the reduce job in MB: 1,000 plus twice the largest row group (one row group of the kept
    columns is read, then written)."""
    return _scaled(1000 + 2 * largest_row_group_mb())


def pass_mem_mb(pass_name):
    """Memory of a dependence pass in MB: 1,000 + 12 x `block_memory_mb` (block products and their
    temporaries, 4x; the feature cache, at most 8x) plus twice the values of the sample it reads (a
    float64 copy and its features).

    An upper bound from the input's width, as the survivors of the earlier stages are not known when
    the workflow is parsed; 8,000 when the input size is not known at parse time (the demo). Measured
    against: docs/benchmarks.md, "Memory and time requests of the rules".
    """
    values = input_values_mb(rows_used(pass_name))
    if values is None:
        return _scaled(8000)
    return _scaled(1000 + 12 * config["block_memory_mb"] + 2 * values)


def max_pass_mem_mb():
    """Memory of the stability job in MB, that of the largest enabled pass (it runs them one at a time)."""
    sizes = [pass_mem_mb(p)(None, 1) for p in ENABLED_PASSES] or [1000]
    return _scaled(max(sizes))
