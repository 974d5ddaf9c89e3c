"""The ingest scan: DuckDB aggregates every column in its own threads, Python only combines the results.

One aggregate query per batch of files reads every row once. Grouped by Parquet row group, it returns
for each column the count of values, min, max, sum and population variance (DuckDB's ``var_pop``, a
Welford update), and the rows whose content hash falls under a threshold (the row-sample
candidates). The hash of a row is ``hash(xor(T, seed))`` with T the XOR over its columns of
``hash(value, salt)``, the salt taken from the column's name: independent of column order and of how
the columns are split over queries. Exact duplicates need no fingerprint: identical columns get identical bits in all of
these (same rows, same order, same row groups) and in the sample, and :func:`equal_columns` confirms
such candidates value by value in a narrow query over only them (ingest compares the sample instead
when it holds every row). Results per row group do not depend on DuckDB's thread count
or on how the files are batched (DuckDB reads a row group in one thread, in order), and Python
combines them in (file, row group) order, so the statistics are the same bytes however many threads
run.

A table wider than COLUMN_GROUP columns is aggregated COLUMN_GROUP columns per query: DuckDB 2.0's
grouped aggregate keeps one row of state per group, and past about 3,700 columns of these five
aggregates (some 18,000 aggregates, a state row wider than its 256 KiB blocks) the process dies of a
division by zero (SIGFPE). Each of its queries also returns every row's XOR of hash terms over its own
columns; Python XORs them into the row hashes, keeps the rows under the threshold, and reads their
values back a block of columns at a time with Arrow (one more read of the data: only the row groups
that hold sampled rows, each file's footer parsed once, where a DuckDB query parses every footer and
plans every column again; decimal columns go through DuckDB's CAST, as in the first round), so no
read holds every column at once: one block's row groups, not the whole width's.
A sample whose values exceed ``ingest.memory_mb`` (in the one-query form too) is read back the same
way into a temporary file (:class:`~descriptor_pipeline.scan.store.SampleStore`). A column's statistics
do not depend on the other columns in its query, so they are the same bytes either way.

Columns the fast query cannot settle (NaN or +-inf present, sums beyond float64's range, or a mean so
far from zero against the spread that the Welford update loses digits) are read again in a narrow
query that masks non-finite values, divides by a power of two and subtracts the mean found so far.

The modules, each importing only those above it:

    _sql          sql_string, _literal, _as_double, row_group_bounds and _row_group_expr, batches (BATCH_VALUES)
    source        Source: the input files, their columns addressed by position
    _fetch        fetch: a query on its own connection; unreadable_file: the input file a failed one met
    _aggregates   _Plan, _Partial, combining per-row-group results, _moments (OFFSET_LIMIT), _next_plan, the sample rows
    store         SampleStore: the row sample, in memory or in an unlinked temporary file
    scanner       Scanner (COLUMN_GROUP, MAX_ROUNDS) and ScanResult
    duplicates    equal_columns

The constants are re-exported below as copies: the code reads them from its own module, so patch them
there (e.g. ``scanner.COLUMN_GROUP``).
"""

from __future__ import annotations

from descriptor_pipeline.scan._sql import BATCH_VALUES, batches, row_group_bounds, sql_string
from descriptor_pipeline.scan.source import Source
from descriptor_pipeline.scan._fetch import fetch, unreadable_file
from descriptor_pipeline.scan._aggregates import OFFSET_LIMIT
from descriptor_pipeline.scan.scanner import COLUMN_GROUP, MAX_ROUNDS, Scanner, ScanResult
from descriptor_pipeline.scan.duplicates import equal_columns

__all__ = [
    "BATCH_VALUES",
    "COLUMN_GROUP",
    "MAX_ROUNDS",
    "OFFSET_LIMIT",
    "ScanResult",
    "Scanner",
    "Source",
    "batches",
    "equal_columns",
    "fetch",
    "row_group_bounds",
    "sql_string",
    "unreadable_file",
]
