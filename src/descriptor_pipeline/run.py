"""``descriptor-pipeline run`` and ``init``: the installed workflow, run from any directory.

``run`` goes through the Python API (:class:`~descriptor_pipeline.api.DescriptorPipeline`): the config
files and ``--config`` overrides are merged into the workflow's defaults, validated with the same
one-line errors, written to ``DIRECTORY/run-config.yaml`` and handed to ``snakemake --directory
DIRECTORY``. ``init`` writes the files a user edits before a real run: ``config.yaml`` (the defaults,
commented) and ``profiles/slurm/config.yaml`` (the Slurm profile with its SITE lines).
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from descriptor_pipeline.api import RUN_RECORD, DescriptorPipeline, PipelineConfig, find_workflow_dir
from descriptor_pipeline.config import deep_merge, parse_overrides, read_settings
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import folder_globs
from descriptor_pipeline.io import write_text
from descriptor_pipeline.layout import Results, schema_path
from descriptor_pipeline.logs import LOG
from descriptor_pipeline.settings import defaults, load_schema, read_by

_CONFIG_HEADER = """\
# descriptor-pipeline configuration, written by `descriptor-pipeline init`. Edit it, then run
#
#   descriptor-pipeline run --configfile config.yaml                   # in this directory
#   descriptor-pipeline run --configfile config.yaml --profile slurm   # on Slurm: edit profiles/slurm first
#
# Keys left out keep their defaults; `--config KEY=VALUE` on the command line overrides this file.
# Relative paths in `input` are taken from the directory the command runs in.
"""


def _settings(configfiles: Sequence[str], overrides: Sequence[str], inputs: Sequence[str] | None) -> dict[str, Any]:
    """The config files in order, then ``--config``, then ``--input``: each overriding the ones before."""
    settings: dict[str, Any] = {}
    for path in configfiles:
        settings = deep_merge(settings, read_settings(path))
    settings = deep_merge(settings, parse_overrides(list(overrides)))
    if inputs:
        settings["input"] = folder_globs(inputs)
    return settings


def _resources(entries: Sequence[str]) -> dict[str, int]:
    resources = {}
    for entry in entries:
        name, sep, value = entry.partition("=")
        if not sep or not name or not value.strip().isdigit():
            raise PipelineError(f"--resources {entry!r}: expected NAME=INTEGER, e.g. gpu=1")
        resources[name] = int(value)
    return resources


def find_profile(profile: str, directory: str | os.PathLike[str]) -> Path:
    """A profile folder: ``profile`` itself when it is one, else ``DIRECTORY/profiles/NAME`` (from
    ``init``), else the installed ``profiles/NAME``."""
    installed = find_workflow_dir() / "profiles"
    for candidate in (Path(profile), Path(directory) / "profiles" / profile, installed / profile):
        if (candidate / "config.yaml").is_file():
            return candidate.resolve()
    names = ", ".join(sorted(p.name for p in installed.iterdir() if (p / "config.yaml").is_file()))
    raise PipelineError(
        f"--profile {profile!r}: no config.yaml in that folder, in {Path(directory) / 'profiles' / profile} "
        f"or among the installed profiles ({names})"
    )


def recorded_settings(directory: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The configuration a run directory's results were made with (its ``run-config.yaml``), or None."""
    record = Path(directory) / RUN_RECORD
    return read_settings(record) if record.is_file() else None


def _absolute_inputs(value: Any) -> list[str]:
    patterns = [value] if isinstance(value, str) else list(value or [])
    return [p if os.path.isabs(p) else os.path.abspath(p) for p in patterns]


def with_record(directory: str | os.PathLike[str], settings: dict[str, Any], force: bool = False) -> dict[str, Any]:
    """``settings`` on top of what ``directory`` recorded, so a rerun without ``--input`` resumes that run's
    input and configuration; another input than the recorded one is refused unless ``force``."""
    recorded = recorded_settings(directory)
    if recorded is None or force:
        return settings
    if "input" in settings and _absolute_inputs(settings["input"]) != _absolute_inputs(recorded.get("input")):
        was = ", ".join(_absolute_inputs(recorded.get("input"))) or "the embedded demo data"
        raise PipelineError(
            f"--directory {directory}: holds the results of another input ({was}); give a new --directory for "
            "this input, or --force to replace those results"
        )
    return deep_merge(recorded, settings)


def run_workflow(
    *,
    inputs: Sequence[str] | None = None,
    configfiles: Sequence[str] = (),
    overrides: Sequence[str] = (),
    cores: int = 1,
    resources: Sequence[str] = (),
    profile: str | None = None,
    directory: str | os.PathLike[str] = ".",
    verbose: bool = False,
    snakemake_args: Sequence[str] = (),
    force: bool = False,
) -> list[Path]:
    """Run the workflow as ``descriptor-pipeline run`` does; return the result files it left (none after
    a dry run). In a directory that holds a run, its recorded configuration is the base that the config
    files and overrides change (see :func:`with_record`)."""
    extra = list(snakemake_args)
    if profile is not None:
        extra = ["--workflow-profile", str(find_profile(profile, directory)), *extra]
    config = PipelineConfig(
        output_dir=directory,
        cores=cores,
        resources=_resources(resources),
        snakemake_args=extra,
        **with_record(directory, _settings(configfiles, overrides, inputs), force),
    )
    DescriptorPipeline(config).execute("all", echo=verbose)
    results = Results(Path(directory) / "results")
    left = [results.final_list, results.cluster_report]
    left = [p for p in left if p.is_file()]
    if left:
        kept = sum(1 for line in left[0].read_text(encoding="utf-8").splitlines() if line)
        LOG.info("done: %d descriptors kept; `descriptor-pipeline explain NAME` says what happened to any column", kept)
    return left


def report_directory(directory: str | os.PathLike[str], out: str | os.PathLike[str] | None = None) -> Path:
    """Snakemake's report of the run in ``directory``, made with the configuration it recorded (so its
    graph shows that run's jobs); the record is not changed."""
    recorded = recorded_settings(directory)
    if recorded is None:
        raise PipelineError(f"{directory}: no {RUN_RECORD} there, so no run to report; run it with descriptor-pipeline run first")
    return DescriptorPipeline(PipelineConfig(output_dir=directory, **recorded)).report(out)


def init_directory(directory: str | os.PathLike[str], *, force: bool = False) -> list[Path]:
    """Write ``DIRECTORY/config.yaml`` and ``DIRECTORY/profiles/slurm/config.yaml``; refuse to overwrite
    either unless ``force``. Returns the paths written."""
    source = find_workflow_dir()
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise PipelineError(f"init {directory}: a file, not a folder; name a new folder (or an existing run directory)")
    schema = load_schema(schema_path(source))
    files = {
        out / "config.yaml": _CONFIG_HEADER + "\n" + commented_config(defaults(schema), schema),
        out / "profiles" / "slurm" / "config.yaml": (source / "profiles" / "slurm" / "config.yaml").read_text(
            encoding="utf-8"
        ),
    }
    existing = [str(p) for p in files if p.exists()]
    if existing and not force:
        raise PipelineError(f"init: {existing[0]} already exists; edit it, or pass --force to overwrite")
    for path, text in files.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text(path, text)
        except OSError as exc:
            raise PipelineError(f"init {directory}: cannot write {exc.filename or path} ({exc.strerror}); "
                                "name a folder you can write to") from None
    return list(files)


def commented_config(values: Mapping[str, Any], schema: Mapping[str, Any], indent: int = 0, prefix: str = "",
                     readers: Mapping[str, Sequence[str]] | None = None) -> str:
    """``values`` as YAML, every key preceded by its schema description and the stages that read it
    (wrapped as a comment), in the schema's order; reading it back gives ``values``."""
    pad = " " * indent
    properties = schema.get("properties", {})
    readers = read_by(schema) if readers is None else readers
    out = []
    for key, value in values.items():
        description = " ".join(str(properties.get(key, {}).get("description", "")).split())
        stages = readers.get(f"{prefix}{key}", ())
        if stages:
            description = f"{description} (read by: {', '.join(stages)})".strip()
        if description:
            width = max(100 - indent - 2, 40)
            out += [f"{pad}# {line}" for line in textwrap.wrap(description, width)]
        name = yaml.safe_dump(key).removesuffix("\n...\n").strip()
        if isinstance(value, Mapping) and value:
            out.append(f"{pad}{name}:")
            out.append(commented_config(value, properties.get(key, {}), indent + 2, f"{prefix}{key}.", readers).rstrip("\n"))
        else:
            text = yaml.safe_dump(value, default_flow_style=True, width=10**9).removesuffix("\n...\n").strip()
            out.append(f"{pad}{name}: {text}")
        if indent == 0:
            out.append("")
    return "\n".join(out).rstrip("\n") + "\n"
