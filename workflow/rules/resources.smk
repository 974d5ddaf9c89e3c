"""What each job asks a cluster scheduler for (SLURM: --mem, --time, --gpus): time and memory estimates."""

import functools
import json
from pathlib import Path

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


# Memory requests: each a model of the job's peak resident memory (MiB) fitted to the peaks the jobs
# themselves log (VmHWM) on the suite's planted tables S, M, L and p = 20,000, asked with MARGIN on top
# (docs/benchmarks.md, "Memory and time requests of the rules"; benchmarks/memory_requests.py). A job
# whose inputs exist when it is scheduled (Snakemake evaluates resources again then) is sized from them:
# a pass from the columns it gets and the rows of the sample; before that (a dry run) from the input's
# width, an upper bound.
MARGIN = 1.1
BASE_MIB = 250  # Python, NumPy, Arrow, Polars and igraph loaded
FIXED_MIB = {  # rules whose peak does not grow with the table: their peaks in a first run after an
    # install, which compiles the package's modules (about 35 MiB more than later runs: 67-99, 68-101,
    # 165, 172-239, 191-268 MiB measured)
    "select": 110,
    "alternatives": 110,
    "demo_data": 210,
    "report_benchmarks": 250,
    "report_figures": 280,
}
PASS_MODEL = {  # peak = BASE + k V + min(c V, 8 block_memory_mb) + q min(P, block_memory_mb), see pass_peak_mib
    "spearman": (1.0, 2.4, 4),
    "hsic": (2.0, 18.0, 4),
    "rdc": (1.0, 9.5, 1),
}


def _mib_request(mib):
    """MB (rounded up to 10) asking for ``mib`` MiB with MARGIN."""
    return int(-(-mib * MARGIN * 2**20 // 10**7) * 10)


def fixed_mem_mb(rule_name):
    """Memory of a rule whose peak does not grow with the table, times the attempt."""
    megabytes = _mib_request(FIXED_MIB[rule_name])
    return lambda wildcards, attempt: megabytes * attempt


@functools.cache
def input_shape():
    """(columns, rows, largest row group in MiB, footers in MiB, largest footer in MiB) of the input
    from the Parquet footers when the workflow is parsed: columns of the first file (all files have the
    same), rows counted until `sample_rows` (no stage holds more), the row groups and footers of the
    first 8 files (the footers' sum scaled to every file); None when the input is the demo (written by
    a rule) or cannot be read (the ingest rule reports that).
    """
    if not config["input"]:
        return None
    try:
        first = [pq.read_metadata(path) for path in INPUT_FILES[:8]]
        rows, limit = 0, config["sample_rows"]
        # each footer read once, and only as far as needed
        for k, path in enumerate(INPUT_FILES):
            rows += (first[k] if k < len(first) else pq.read_metadata(path)).num_rows
            if limit and rows >= limit:
                break
    except Exception:
        return None
    group = max(
        (
            m.row_group(i).total_byte_size
            for m in first
            for i in range(m.num_row_groups)
        ),
        default=0,
    )
    footers = sum(m.serialized_size for m in first) * len(INPUT_FILES) / len(first)
    largest = max(m.serialized_size for m in first)
    return first[0].num_columns, rows, group / 2**20, footers / 2**20, largest / 2**20


def rows_used(pass_name=None):
    """Rows a stage holds at most: the row sample (`sample_rows`), cut to the pass's `max_rows`; 0 = all."""
    limits = [config["sample_rows"]]
    if pass_name is not None:
        limits.append(config["passes"][pass_name]["max_rows"])
    limits = [n for n in limits if n > 0]
    return min(limits) if limits else 0


def _rows(limit, rows):
    return min(limit, rows) if limit else rows


def ingest_peak_mib(columns, rows, group_mib, footers_mib):
    """Ingest's peak (MiB): BASE + 30 (DuckDB) + k H + 5.5 S + F, with H the sample's float64 values held in memory (a
    quarter of `ingest.memory_mb` once they spill to a file), k = 6.7 when one query returns the sample
    rows (every column in one query, the values within the budget: DuckDB's list states, the Arrow
    result, the columns and the sample) and 2 otherwise; S the share of the largest row group one query
    reads (DuckDB decodes whole row groups, one per thread; at most COLUMN_GROUP columns a query); F
    ten times the footers kept (a wide footer takes about ten times its size on disk), at most a 32nd
    of the budget."""
    budget = config["ingest"]["memory_mb"]
    values = _rows(config["sample_rows"], rows) * columns * 8 / 2**20
    one_query = columns <= COLUMN_GROUP and values <= budget
    held = values if values <= budget else budget / 4
    share = min(1.0, COLUMN_GROUP / columns) if columns else 1.0
    base = BASE_MIB + 30  # and DuckDB
    return (
        base
        + (6.7 if one_query else 2.0) * held
        + 5.5 * share * group_mib
        + 10 * min(footers_mib, budget / 32)
    )


def ingest_mem_mb():
    """Memory of ingest in MB from the input's footers; 4,000 when the input is not known at parse time
    (the demo). Bounded by `ingest.memory_mb`, not by the table's width or length."""
    shape = input_shape()
    megabytes = 4000 if shape is None else _mib_request(ingest_peak_mib(*shape[:4]))
    return lambda wildcards, attempt: megabytes * attempt


def reduce_mem_mb():
    """Memory of the reduce job in MB: BASE - 40 + 2 x the largest row group (one row group of the kept
    columns is read, then written) + 10 x the largest footer (one file is open at a time).
    """
    shape = input_shape()
    megabytes = (
        1000
        if shape is None
        else _mib_request(BASE_MIB - 40 + 2.0 * shape[2] + 10 * shape[4])
    )
    return lambda wildcards, attempt: megabytes * attempt


def pass_peak_mib(pass_name, columns, rows):
    """A dependence pass's peak (MiB) over ``columns`` x ``rows``: BASE + k V + min(c V, 8 B) + q min(P, B),
    with V the float64 values it reads, B `block_memory_mb`, 8 B the most its feature cache keeps, and P
    a block product's size (columns^2 float32) up to B; k, c, q per measure (PASS_MODEL): Spearman's ranks
    (c = 2.4), HSIC's random features before their compression (18), RDC's 20 features (9.5).
    """
    k, c, q = PASS_MODEL[pass_name]
    block = config["block_memory_mb"]
    values = columns * rows * 8 / 2**20
    product = min(columns * columns * 4 / 2**20, block)
    return BASE_MIB + k * values + min(c * values, 8 * block) + q * product


def _lines(path):
    with open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def pass_shape(pass_name, input):
    """(columns, rows) a pass reads: from its survivors list and the sample when they exist, else the
    input's width and rows; None when neither is known (the demo, before it is written).
    """
    limit = rows_used(pass_name)
    try:
        return _lines(input.survivors), _rows(
            limit, pq.read_metadata(input.sample).num_rows
        )
    except Exception:
        shape = input_shape()
        return None if shape is None else (shape[0], _rows(limit, shape[1]))


def pass_mem_mb(pass_name):
    """Memory of a dependence pass (or of one of its shards) in MB; 8,000 when nothing is known yet."""

    def mem_mb(wildcards, input, attempt):
        shape = pass_shape(pass_name, input)
        return (
            8000 if shape is None else _mib_request(pass_peak_mib(pass_name, *shape))
        ) * attempt

    return mem_mb


def max_pass_mem_mb():
    """Memory of the stability job in MB, that of the largest enabled pass (it runs them one at a time on
    the survivors of ingest)."""

    def mem_mb(wildcards, input, attempt):
        sizes = [pass_mem_mb(p)(wildcards, input, 1) for p in ENABLED_PASSES] or [1000]
        return max(sizes) * attempt

    return mem_mb


def backtrack_mem_mb():
    """Memory of the backtrack job in MB: BASE - 20 + 0.0132 MiB per descriptor kept by ingest and 0.0066
    per sampled row (its end-to-end predictability reads the sample)."""

    def mem_mb(wildcards, input, attempt):
        try:
            summary = json.loads(Path(input.ingest_summary).read_text())
            columns, rows = summary["kept"], summary["sample_rows"]
        except Exception:
            shape = input_shape()
            if shape is None:
                return 2000 * attempt
            columns, rows = shape[0], _rows(config["sample_rows"], shape[1])
        return _mib_request(BASE_MIB - 20 + 0.0132 * columns + 0.0066 * rows) * attempt

    return mem_mb
