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


def read_yaml(path: str | Path, what: str) -> Any:
    """Parse a YAML file; a missing or malformed file is a one-line error naming it."""
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml.safe_load(handle)
    except OSError as exc:
        raise PipelineError(f"{what} {path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise PipelineError(f"{what} {path}: not valid YAML{where}; fix the syntax") from None


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
        allowed = ", ".join(sorted(error.schema.get("properties", {})))
        raise PipelineError(f"config key '{key}': unknown key; allowed here: {allowed}")
    description = error.schema.get("description", "") if isinstance(error.schema, Mapping) else ""
    hint = f" ({' '.join(description.split())})" if description else ""
    raise PipelineError(f"config key '{key}': {error.message}{hint}")
