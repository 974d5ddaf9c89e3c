"""Configuration: the workflow's defaults (config/config.yaml), merging overrides, one-line validation.

The Snakefile and the Python API both validate through :func:`validate_config`, so a bad key gives
the same message from ``snakemake`` and from ``DescriptorPipeline(...).run()``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from descriptor_pipeline.errors import PipelineError


# Values a configuration may hold once YAML aliases are expanded: far above any real configuration, far
# below what an alias bomb (a few lines, billions of values) would make every later walk of it cost.
MAX_CONFIG_VALUES = 100_000


def check_config_size(config: Any, what: str = "the configuration (config files and --config)") -> None:
    """Refuse a configuration whose aliases expand it beyond :data:`MAX_CONFIG_VALUES` values, counted
    without expanding it (a node shared through aliases is counted once per use, computed once)."""
    sizes: dict[int, int] = {}

    def size(node: Any, depth: int = 0) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if depth > 100:
            raise PipelineError(f"{what}: nested more than 100 levels deep; write the values out")
        children = [*node.keys(), *node.values()] if isinstance(node, Mapping) else node if isinstance(node, list) else ()
        total = 1 + sum(size(c, depth + 1) for c in children)
        sizes[id(node)] = total
        if total > MAX_CONFIG_VALUES:
            raise PipelineError(f"{what}: YAML aliases expand it to more than {MAX_CONFIG_VALUES:,} values; "
                                "write the values out instead of repeating anchors")
        return total

    size(config)


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file; a missing or malformed file is a one-line error naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = yaml.safe_load(handle)
        check_config_size(data, f"{what} {path}")
        return data
    except OSError as exc:
        raise PipelineError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise PipelineError(f"{what} {path}: not valid YAML{where}; fix the syntax") from None


def read_settings(path: str | Path) -> dict[str, Any]:
    """The config keys of a config file (config.yaml format); anything but a mapping is a one-line error."""
    settings = read_yaml(path, "config file") or {}
    if not isinstance(settings, Mapping):
        raise PipelineError(f"config file {path}: expected a mapping of config keys at the top level")
    return dict(settings)


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` updated by ``override``, nested mappings merged key by key (as Snakemake merges configs)."""
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _key_path(error: jsonschema.ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
        allowed = error.schema.get("properties", {})
        unknown = sorted(k for k in error.instance if k not in allowed)
        if unknown:
            return ".".join(filter(None, (path, str(unknown[0]))))
    return path or "(top level)"


def validate_config(config: Mapping[str, Any], schema_path: str | Path) -> None:
    """Raise a one-line :class:`PipelineError` naming the first offending key, or return.

    Unknown keys are reported as unknown with the keys allowed at that level; other violations
    quote the value and what the schema requires.
    """
    schema = read_yaml(schema_path, "config schema")
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(dict(config)), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    if not errors:
        return
    error = jsonschema.exceptions.best_match(errors)
    key = _key_path(error)
    if error.validator == "additionalProperties":
        replaced = error.schema.get("x-replaced", {}).get(key.rsplit(".", 1)[-1])
        if replaced:
            raise PipelineError(f"config key '{key}': no longer read; {' '.join(replaced.split())}")
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        raise PipelineError(f"config key '{key}': unknown key; allowed here: {allowed}")
    description = error.schema.get("description", "") if isinstance(error.schema, Mapping) else ""
    hint = f" ({' '.join(description.split())})" if description else ""
    raise PipelineError(f"config key '{key}': {error.message}{hint}")


def _typed(value: str, kind: str) -> Any:
    """``value`` as the schema type ``kind`` when it spells one, else ``value`` unchanged."""
    text = value.strip()
    if kind == "null":
        return None if text in ("null", "~", "None", "") else value
    if kind == "boolean":
        parsed = yaml.safe_load(text) if text else None
        return parsed if isinstance(parsed, bool) else value
    if kind in ("integer", "number"):
        try:
            number = int(text)
        except ValueError:
            if kind == "integer":
                return value
            try:
                return float(text)
            except ValueError:
                return value
        return number
    if kind == "null":
        return None if text.lower() in ("", "null", "~", "none") else value
    return value


def coerce_config(config: Any, schema: Mapping[str, Any]) -> Any:
    """``config`` with strings turned into the booleans and numbers its schema asks for, recursively.

    Snakemake reads a nested ``--config 'passes={hsic: {enabled: false, threshold: 0.85}}'`` with YAML's
    base loader, which keeps every scalar a string; this gives them back their types. A string where the
    schema allows a string, or that does not spell the required type, is left as it is, so validation
    still names it.
    """
    if isinstance(config, Mapping):
        properties = schema.get("properties", {})
        return {k: coerce_config(v, properties[k]) if k in properties else v for k, v in config.items()}
    if isinstance(config, list) and isinstance(schema.get("items"), Mapping):
        return [coerce_config(v, schema["items"]) for v in config]
    if isinstance(config, str):
        kinds = schema.get("type")
        kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
        if kinds and "string" not in kinds:
            for kind in kinds:
                typed = _typed(config, kind)
                if typed is not config:
                    return typed
    return config


def parse_overrides(entries: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` command-line overrides as a nested mapping; ``VALUE`` is YAML (``0.9``, ``false``,
    ``[a, b]``, ``{hsic: {enabled: false}}``), or the plain text where it is not valid YAML, and ``KEY``
    may be dotted (``passes.hsic.threshold=0.9``). Later entries override earlier ones."""
    overrides: dict[str, Any] = {}
    for entry in entries:
        key, sep, text = entry.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(parts):
            raise PipelineError(f"--config {entry!r}: expected KEY=VALUE, e.g. seed=7 or passes.hsic.threshold=0.85")
        try:
            value = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            value = text  # e.g. input=*.parquet (a YAML alias): meant as the string; validation judges it
        for part in reversed(parts):
            value = {part: value}
        overrides = deep_merge(overrides, value)
    return overrides
