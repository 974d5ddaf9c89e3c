"""The settings page: the run's data, each pass's backend and rows, the settings each stage recorded and
the versions, as one self-contained HTML page."""

from __future__ import annotations

import html
import platform
from collections.abc import Mapping, Sequence
from typing import Any

from descriptor_pipeline.lineage import package_versions

PACKAGES = (
    "descriptor-pipeline", "snakemake", "numpy", "duckdb", "polars", "pyarrow",
    "leidenalg", "igraph", "networkx", "cupy-cuda12x", "matplotlib",
)


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, Mapping):
        out = []
        for key in sorted(value):
            out += _flatten(f"{prefix}.{key}" if prefix else str(key), value[key])
        return out
    return [(prefix, repr(value) if isinstance(value, str) else str(value))]


def _versions() -> list[tuple[str, str]]:
    """Python and the packages of PACKAGES (CuPy only where it is installed)."""
    found = package_versions(PACKAGES)
    return [("python", platform.python_version())] + [
        (name, v) for name, v in found.items() if not (name == "cupy-cuda12x" and v == "not installed")
    ]


def recorded_settings(ingest_summary: Mapping[str, Any], pass_summaries: Mapping[str, Mapping[str, Any]]) -> dict:
    """The settings each stage recorded in its summary (what made these results), nested by stage."""
    return {"ingest": dict(ingest_summary["settings"]),
            "passes": {name: dict(s["settings"]) for name, s in pass_summaries.items()}}


def settings_html(ingest_summary: Mapping[str, Any], pass_summaries: Mapping[str, Mapping[str, Any]]) -> str:
    """A self-contained HTML page: the run's data, each pass's backend and rows, the settings each stage
    recorded, the versions."""
    def table(title: str, rows: Sequence[tuple[str, str]]) -> str:
        body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f"<h2>{html.escape(title)}</h2><table>{body}</table>"

    data = [
        ("input files", str(len(ingest_summary["input_files"]))),
        ("rows", f"{int(ingest_summary['rows']):,}"),
        ("rows in the sample the passes use", f"{int(ingest_summary['sample_rows']):,}"),
        ("input columns", f"{int(ingest_summary['columns']):,}"),
    ]
    passes = [(name, f"backend {s['backend']}, {int(s['rows']):,} rows, threshold {s['settings']['threshold']}, "
                     f"{int(s['descriptors_in']):,} -> {int(s['descriptors_out']):,} descriptors")
              for name, s in pass_summaries.items()]
    style = ("body{font-family:sans-serif;font-size:13px;margin:1em}table{border-collapse:collapse;margin-bottom:1em}"
             "td{border:1px solid #ddd;padding:2px 8px;vertical-align:top}td:first-child{font-family:monospace}"
             "h2{font-size:15px}")
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Run settings and versions</title>"
            f"<style>{style}</style></head><body>"
            + table("Data", data) + table("Passes", passes)
            + table("Settings each stage ran with", _flatten("", recorded_settings(ingest_summary, pass_summaries)))
            + table("Versions", _versions())
            + "</body></html>\n")
