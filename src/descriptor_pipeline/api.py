"""Python API for notebooks: run the same Snakemake workflow from a config object.

    from descriptor_pipeline import DescriptorPipeline, PipelineConfig

    result = DescriptorPipeline(PipelineConfig(parquet_glob="data/*.parquet", output_dir="out")).run()
    result.final_descriptors              # list of names, as in out/results/final_descriptors.txt
    result.clusters["descriptors"]["x"]   # as in out/results/surviving_descriptors_clusters.json
    DescriptorPipeline(config).report()   # out/report.html, as `snakemake --report report.html`

``run()`` starts ``snakemake`` in a child process with ``--directory output_dir``: every stage is its own
process, as on the command line, and the run directory holds the usual ``results/`` and ``logs/`` plus
``run-config.yaml`` (the full configuration used). Rerunning with the same settings redoes nothing;
changed settings rerun what they affect (Snakemake's own rules).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from descriptor_pipeline.config import deep_merge, read_settings, read_yaml
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.inputs import expand_inputs
from descriptor_pipeline.io import read_json, read_lines, write_text
from descriptor_pipeline.layout import find_workflow_dir, schema_path
from descriptor_pipeline.settings import complete
from descriptor_pipeline.logs import LOG

class PipelineConfig:
    """One run: the keys of config/config.yaml (``seed=...``, ``passes={...}``, ...) plus where and how to run.

    ``parquet_glob`` is the config key ``input`` (a glob or a list; relative paths are taken from the
    current directory); leaving both out runs the embedded demo data. Nested keys are merged into the
    defaults, so ``passes={"hsic": {"enabled": False}}`` changes only that. ``cores``, ``resources``
    (e.g. ``{"gpu": 1}``) and ``snakemake_args`` go to the snakemake command line.
    """

    def __init__(
        self,
        parquet_glob: str | Sequence[str] | None = None,
        output_dir: str | os.PathLike[str] = "descriptor-pipeline-run",
        *,
        cores: int = 2,
        resources: Mapping[str, int] | None = None,
        snakemake_args: Sequence[str] = (),
        workflow_dir: str | os.PathLike[str] | None = None,
        **settings: Any,
    ) -> None:
        if parquet_glob is not None and "input" in settings:
            raise PipelineError("PipelineConfig: give the input either as parquet_glob= or as input=, not both")
        if parquet_glob is not None:
            settings["input"] = parquet_glob
        self.settings = settings
        self.output_dir = Path(output_dir)
        self.cores = cores
        self.resources = dict(resources or {})
        self.snakemake_args = list(snakemake_args)
        self.workflow_dir = workflow_dir

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str], **kwargs: Any) -> PipelineConfig:
        """Settings from a config file in the config.yaml format; keyword arguments as in the constructor."""
        return cls(**{**read_settings(path), **kwargs})

    def resolved(self, workflow_dir: Path) -> dict[str, Any]:
        """The full configuration: the workflow's config file, these settings merged in, the schema's defaults
        for the rest (as the Snakefile does), input paths absolute."""
        base = read_yaml(workflow_dir / "config" / "config.yaml", "config file") or {}
        config = complete(deep_merge(base, self.settings), schema_path(workflow_dir))
        patterns = [config["input"]] if isinstance(config["input"], str) else list(config["input"])
        config["input"] = [p if os.path.isabs(p) else os.path.abspath(p) for p in patterns]
        return config

    def __repr__(self) -> str:
        return f"PipelineConfig(output_dir={str(self.output_dir)!r}, cores={self.cores}, settings={self.settings!r})"


@dataclass(frozen=True)
class PipelineResult:
    """What a finished run leaves: the final list, the cluster structure and where the files are."""

    output_dir: Path
    final_descriptors: list[str]
    clusters: dict[str, Any]

    @property
    def results_dir(self) -> Path:
        return self.output_dir / "results"

    def alternatives(self, survivor: str) -> list[str]:
        """The descriptors ``survivor`` stands for (empty when it stands alone)."""
        try:
            return list(self.clusters["descriptors"][survivor]["alternative_descriptors"])
        except KeyError:
            raise PipelineError(f"{survivor!r} is not a surviving descriptor of this run") from None


class DescriptorPipeline:
    """Runs the workflow for a :class:`PipelineConfig`; see the module docstring."""

    def __init__(self, config: PipelineConfig | None = None) -> None:
        self.config = config or PipelineConfig()

    def command(self, workflow_dir: Path, target: str = "all") -> list[str]:
        cfg = self.config
        cmd = [
            sys.executable, "-m", "snakemake", target,
            "--snakefile", str(workflow_dir / "Snakefile"),
            "--directory", str(cfg.output_dir.resolve()),
            "--configfile", str((cfg.output_dir / "run-config.yaml").resolve()),
            "--cores", str(cfg.cores),
        ]
        if cfg.resources:
            cmd += ["--resources", *(f"{k}={v}" for k, v in sorted(cfg.resources.items()))]
        return cmd + cfg.snakemake_args

    def run(self, target: str = "all") -> PipelineResult:
        """Run (or resume) the workflow up to ``target``; raise :class:`PipelineError` with the stage's
        one-line message when it fails. The full Snakemake output is in ``output_dir/logs/snakemake.log``."""
        self.execute(target)
        return self.load_results()

    def execute(self, target: str = "all", *extra: str, echo: bool = False) -> None:
        """Run snakemake for ``target`` with ``extra`` arguments and return; the outputs are not read
        (a ``--dry-run`` leaves none). ``echo`` copies Snakemake's output to stderr as it comes;
        otherwise only the jobs started and the steps done are logged."""
        self._snakemake(target, *extra, echo=echo)

    def report(self, path: str | os.PathLike[str] | None = None) -> Path:
        """Write Snakemake's report of the finished run: ``path`` (``.html``, or ``.zip`` for an archive),
        by default ``output_dir/report.html``. Returns its path. Snakemake's output goes to
        ``output_dir/logs/snakemake-report.log`` (the run's own log is kept)."""
        out = Path(path) if path is not None else self.config.output_dir / "report.html"
        if out.suffix not in (".html", ".zip"):
            raise PipelineError(f"report path {str(out)!r}: the name must end in .html or .zip")
        self._snakemake("all", "--report", str(out.resolve()), log_name="snakemake-report.log")
        return out

    def _snakemake(self, target: str, *extra: str, log_name: str = "snakemake.log", echo: bool = False) -> None:
        workflow_dir = find_workflow_dir(self.config.workflow_dir)
        config = self.config.resolved(workflow_dir)
        if config["input"]:
            expand_inputs(config["input"])  # the workflow's own check, before anything starts
        out = self.config.output_dir
        (out / "logs").mkdir(parents=True, exist_ok=True)
        write_text(out / "run-config.yaml", yaml.safe_dump(config, sort_keys=False))
        cmd = self.command(workflow_dir, target) + list(extra)
        LOG.info("running %s", " ".join(cmd))
        bin_dir = str(Path(sys.executable).parent)
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        lines: list[str] = []
        log_path = out / "logs" / log_name
        with open(log_path, "w", encoding="utf-8") as log, subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=workflow_dir
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                lines.append(line.rstrip("\n"))
                if echo:
                    sys.stderr.write(line)
                elif "steps (" in line and "done" in line:  # Snakemake's "3 of 8 steps (38%) done"
                    LOG.info("%s", line.strip())
                elif line.startswith(("rule ", "localrule ")) and not line.startswith("localrule all:"):  # a job starts
                    LOG.info("started %s", line.split()[1].rstrip(":"))
        if proc.returncode != 0:
            raise PipelineError(_failure_message(lines, proc.returncode, log_path))

    def load_results(self) -> PipelineResult:
        """Read the outputs of a finished run in ``output_dir`` (no run)."""
        results = self.config.output_dir / "results"
        return PipelineResult(
            output_dir=self.config.output_dir,
            final_descriptors=read_lines(results / "final_descriptors.txt"),
            clusters=read_json(results / "surviving_descriptors_clusters.json"),
        )


def _failure_message(lines: list[str], returncode: int, log: Path) -> str:
    """The one line that says what went wrong: a stage's ``ERROR:`` line, else Snakemake's own error."""
    for line in lines:
        if line.startswith("ERROR: "):
            return line[len("ERROR: "):]
    for k, line in enumerate(lines):
        if "Error in file" in line or line.startswith(("WorkflowError", "MissingInputException", "Error:")):
            detail = next((x.strip() for x in lines[k + 1 :] if x.strip()), "")
            if line.startswith("WorkflowError") or "Error in file" in line:
                return detail or line.strip()
            return f"{line.strip()} {detail}".strip()
    return f"snakemake exited with status {returncode}; the full output is in {log}"
