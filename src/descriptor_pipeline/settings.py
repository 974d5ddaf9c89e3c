"""The settings of each stage, read from the validated config; the schema is their only definition.

``config/schema.yaml`` gives every key its type, its default and, as ``x-read-by``, the stages that read
it (a key inherits its parent's ``x-read-by``; ``pass`` stands for every dependence pass). From that:

- :func:`complete` types, fills in the defaults and validates a config (the Snakefile and the Python
  API both call it);
- :func:`stage_config` cuts out the keys one stage reads, which is what its rule gets as ``params``, so
  a changed setting reruns only the stages that read it (and what follows them);
- :func:`read_by` is the table of which stage reads which key (``descriptor-pipeline init`` writes it
  into the commented config);
- :class:`IngestSettings` and :class:`PassSettings` are the typed settings the stages work with.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from descriptor_pipeline.config import check_config_size, coerce_config, read_yaml, validate_config
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import schema_path

PASSES = ("spearman", "hsic", "rdc")  # the dependence passes, in the order they run
STAGES = ("ingest", *PASSES, "select", "backtrack", "reduce", "stability", "report")
READ_BY = "x-read-by"
EACH_PASS = "pass"  # in x-read-by: every dependence pass


@functools.cache
def _load_schema(path: str) -> dict[str, Any]:
    return read_yaml(path, "config schema")


def load_schema(path: str | Path | None = None) -> dict[str, Any]:
    """The config schema (by default the workflow's ``config/schema.yaml``); a copy the caller may change."""
    return copy.deepcopy(_load_schema(str(path or schema_path())))


def defaults(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Every key's default, nested as the config is: a section's default is its own keys' defaults."""
    out: dict[str, Any] = {}
    for key, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            out[key] = defaults(sub)
        elif "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
    return out


def fill_defaults(config: Mapping[str, Any], schema: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` with every key it leaves out set to the schema's default (nested sections key by key)."""
    out = copy.deepcopy(dict(config))
    for key, sub in schema.get("properties", {}).items():
        if sub.get("type") == "object" and "properties" in sub:
            given = out.get(key, {})
            out[key] = fill_defaults(given, sub) if isinstance(given, Mapping) else given
        elif key not in out and "default" in sub:
            out[key] = copy.deepcopy(sub["default"])
    return out


# Rows below which the passes cannot tell dependence from chance (docs/calibration.md, "Row floor"): at
# 30 rows an independent pair reaches RDC 0.82 (the threshold is 0.9), at 20 rows 1.0; at 50 rows 0.69.
MIN_ROWS = 50
# Rows below which decisions near a threshold are loose (at 1,000 rows a sampled rho moves by about 0.005):
# the run goes on, with a warning.
FEW_ROWS = 1000


def check_row_counts(config: Mapping[str, Any]) -> None:
    """Refuse a ``sample_rows`` or ``passes.<pass>.max_rows`` between 1 and :data:`MIN_ROWS` - 1 (0: all rows)."""
    keys = [("sample_rows", config["sample_rows"])]  # a complete config: every key is there
    keys += [(f"passes.{p}.max_rows", config["passes"][p]["max_rows"]) for p in PASSES]
    for key, rows in keys:
        if isinstance(rows, int) and 0 < rows < MIN_ROWS:
            raise PipelineError(f"config key '{key}': {rows} rows are too few to tell dependence from chance; give at "
                                f"least {MIN_ROWS} (0 = all rows; docs/calibration.md, Row floor)")


def complete(config: Mapping[str, Any], schema_file: str | Path | None = None) -> dict[str, Any]:
    """The full configuration: strings typed as the schema asks, defaults filled in, validated (one-line
    :class:`PipelineError` naming the first bad key)."""
    check_config_size(config)  # before anything walks it (the schema check would expand an alias bomb)
    path = schema_file or schema_path()
    schema = load_schema(path)
    full = fill_defaults(coerce_config(dict(config), schema), schema)
    validate_config(full, path)
    check_row_counts(full)
    return full


def _expand(stages: Sequence[str], key: str) -> tuple[str, ...]:
    out: list[str] = []
    for stage in stages:
        names = PASSES if stage == EACH_PASS else (stage,)
        for name in names:
            if name not in STAGES:
                raise PipelineError(f"config schema: {READ_BY} of '{key}' names {name!r}, not a stage ({', '.join(STAGES)})")
            if name not in out:
                out.append(name)
    return tuple(out)


def read_by(schema: Mapping[str, Any], prefix: str = "", inherited: Sequence[str] = ()) -> dict[str, tuple[str, ...]]:
    """Every leaf key of the schema (dotted) -> the stages that read it, in the order of :data:`STAGES`."""
    out: dict[str, tuple[str, ...]] = {}
    for key, sub in schema.get("properties", {}).items():
        dotted = f"{prefix}{key}"
        stages = _expand(sub.get(READ_BY, inherited), dotted)
        if sub.get("type") == "object" and "properties" in sub:
            out.update(read_by(sub, dotted + ".", stages))
        else:
            if not stages:
                raise PipelineError(f"config schema: key '{dotted}' says no stage reads it; add {READ_BY}")
            out[dotted] = tuple(s for s in STAGES if s in stages)
    return out


def stage_config(config: Mapping[str, Any], stage: str, schema: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The keys of ``config`` that ``stage`` reads, nested as in the config (a rule's ``params``)."""
    if stage not in STAGES:
        raise PipelineError(f"stage {stage!r}: not one of {', '.join(STAGES)}")
    table = read_by(schema if schema is not None else load_schema())
    out: dict[str, Any] = {}
    for dotted, stages in table.items():
        if stage not in stages:
            continue
        parts = dotted.split(".")
        value: Any = config
        for part in parts:
            value = value[part]
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = copy.deepcopy(value)
    return out


def enabled_passes(config: Mapping[str, Any]) -> list[str]:
    """The passes the config runs, in run order."""
    return [p for p in PASSES if config["passes"][p]["enabled"]]


def _with_defaults(config: Mapping[str, Any]) -> dict[str, Any]:
    """A config (or part of one) with the schema's defaults for what it leaves out; not validated."""
    return fill_defaults(config, load_schema())


@dataclass(frozen=True)
class IngestSettings:
    """What the ingest stage reads: the ``ingest`` section and the top-level keys it uses."""

    max_missing_ratio: float
    min_off_mode_rows: int
    chunk_rows: int
    memory_mb: int
    seed: int
    sample_rows: int
    keep: tuple[str, ...]
    prefer: tuple[str, ...]
    prefer_known: bool
    exclude_columns: tuple[str, ...]

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> IngestSettings:
        """From a config or its ingest part (``stage_config(config, "ingest")``); keys left out take the
        schema's defaults."""
        c = _with_defaults(config)
        section = c["ingest"]
        return cls(
            max_missing_ratio=float(section["max_missing_ratio"]),
            min_off_mode_rows=int(section["min_off_mode_rows"]),
            chunk_rows=int(section["chunk_rows"]),
            memory_mb=int(section["memory_mb"]),
            seed=int(c["seed"]),
            sample_rows=int(c["sample_rows"]),
            keep=tuple(c["keep"]),
            prefer=tuple(c["prefer"]),
            prefer_known=bool(c["prefer_known"]),
            exclude_columns=tuple(c["exclude_columns"]),
        )

    @classmethod
    def with_defaults(cls, **changes: Any) -> IngestSettings:
        """The schema's defaults with ``changes`` (field names) applied."""
        return dataclasses.replace(cls.from_config({}), **changes)


@dataclass(frozen=True)
class PassSettings:
    """What one dependence pass reads: its ``passes.<name>`` section and the top-level keys it uses.

    """

    name: str
    threshold: float
    min_predictability: float
    max_rows: int
    shards: int
    seed: int
    backend: str
    dtype: str
    block_memory_mb: int
    keep: tuple[str, ...]
    prefer: tuple[str, ...]
    prefer_known: bool
    section: Mapping[str, Any]  # passes.<name> as the config spells it (recorded in the pass's summary)

    COMMON = ("enabled", "threshold", "min_predictability", "max_rows", "shards")

    @classmethod
    def from_config(cls, name: str, config: Mapping[str, Any]) -> PassSettings:
        """From a config or the pass's part of it (``stage_config(config, name)``); keys left out take the
        schema's defaults."""
        if name not in PASSES:
            raise PipelineError(f"config key 'passes': unknown pass {name!r}; use one of {', '.join(PASSES)}")
        c = _with_defaults(config)
        section = c["passes"][name]
        return cls(
            name=name,
            threshold=float(section["threshold"]),
            min_predictability=float(section["min_predictability"]),
            max_rows=int(section["max_rows"]),
            shards=int(section["shards"]),
            seed=int(c["seed"]),
            backend=str(c["backend"]),
            dtype=str(c["dtype"]),
            block_memory_mb=int(c["block_memory_mb"]),
            keep=tuple(c["keep"]),
            prefer=tuple(c["prefer"]),
            prefer_known=bool(c["prefer_known"]),
            section=dict(section),
        )

    @property
    def measure(self) -> dict[str, Any]:
        """The measure's own hyperparameters (HSIC: ``n_features``; RDC: ``k``, ``s``)."""
        return {k: v for k, v in self.section.items() if k not in self.COMMON}


def markdown_table(schema: Mapping[str, Any]) -> str:
    """Every key of the schema as a Markdown table: key, default, the stages that read it, description
    (config/README.md holds it; a test keeps it current)."""
    values = defaults(schema)
    rows = ["| key | default | read by | meaning |", "|---|---|---|---|"]

    def walk(node: Mapping[str, Any], value: Mapping[str, Any], prefix: str) -> None:
        for key, sub in node.get("properties", {}).items():
            dotted = f"{prefix}{key}"
            if sub.get("type") == "object" and "properties" in sub:
                walk(sub, value[key], dotted + ".")
                continue
            default = json.dumps(value.get(key), ensure_ascii=False)
            meaning = " ".join(str(sub.get("description", "")).split()).replace("|", "\\|")
            rows.append(f"| `{dotted}` | `{default}` | {', '.join(table[dotted])} | {meaning} |")

    table = read_by(schema)
    walk(schema, values, "")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python -m descriptor_pipeline.settings: the table of config/README.md
    print(markdown_table(load_schema()), end="")
