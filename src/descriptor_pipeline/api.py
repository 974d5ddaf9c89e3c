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
import signal
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
from descriptor_pipeline.io import check_replaceable, read_json, read_lines, write_text
from descriptor_pipeline.layout import Results, find_workflow_dir, schema_path
from descriptor_pipeline.settings import complete
from descriptor_pipeline.logs import LOG, WARNING_PREFIX

RUN_RECORD = "run-config.yaml"  # in the run directory: the configuration its results were made with


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
        if not isinstance(cores, int) or isinstance(cores, bool) or cores < 1:
            raise PipelineError(f"PipelineConfig: cores={cores!r}; give a whole number of at least 1")
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

    def command(self, workflow_dir: Path, target: str | None = "all", configfile: Path | None = None) -> list[str]:
        """The snakemake command line; ``target`` None when the Snakemake arguments name targets themselves."""
        cfg = self.config
        cmd = [sys.executable, "-m", "snakemake", *([target] if target else [])]
        cmd += [
            "--snakefile", str(workflow_dir / "Snakefile"),
            "--directory", str(cfg.output_dir.resolve()),
            "--configfile", str((configfile or cfg.output_dir / RUN_RECORD).resolve()),
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
        check_replaceable(out, _is_snakemake_report, "report --out")
        self._snakemake("all", "--report", str(out.resolve()), log_name="snakemake-report.log")
        return out

    def _snakemake(self, target: str, *extra: str, log_name: str = "snakemake.log", echo: bool = False) -> None:
        """Run snakemake. The configuration goes to a file of this invocation's own; it becomes the run
        directory's record (``run-config.yaml``) only once jobs of this invocation ran, so a run refused
        (the directory is locked), a dry run or a report leaves the record of the results as it was."""
        workflow_dir = find_workflow_dir(self.config.workflow_dir)
        config = self.config.resolved(workflow_dir)
        if config["input"]:
            expand_inputs(config["input"], self.config.output_dir)  # the workflow's own check, before anything starts
        out = self.config.output_dir
        (out / "logs").mkdir(parents=True, exist_ok=True)
        pending = out / f".{RUN_RECORD}.{os.getpid()}.tmp"
        write_text(pending, yaml.safe_dump(config, sort_keys=False))
        args = [*self.config.snakemake_args, *extra]
        given = _snakemake_options(args)
        cmd = self.command(workflow_dir, None if given.targets else target, pending) + list(extra)
        LOG.info("running %s", " ".join(cmd))
        bin_dir = str(Path(sys.executable).parent)
        env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
        lines: list[str] = []
        started = 0
        log_path = out / "logs" / log_name
        try:
            with open(log_path, "w", encoding="utf-8") as log, subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=workflow_dir
            ) as proc:
                assert proc.stdout is not None
                try:
                    for line in proc.stdout:
                        log.write(line)
                        lines.append(line.rstrip("\n"))
                        if echo:
                            sys.stderr.write(line)
                        elif given.dryrun:
                            continue
                        elif line.startswith(WARNING_PREFIX):  # a stage's warning: the user sees it here
                            LOG.warning("%s", line.removeprefix(WARNING_PREFIX).strip())
                        elif "steps (" in line and "done" in line:  # Snakemake's "3 of 8 steps (38%) done"
                            LOG.info("%s", line.strip())
                        elif line.startswith(("rule ", "localrule ")) and not line.startswith("localrule all:"):
                            rule = line.split()[1].rstrip(":")
                            if not started:
                                LOG.info("each stage writes its progress to %s (e.g. tail -f %s)",
                                         log_path.parent / "<stage>.log", log_path.parent / f"{rule}.log")
                            started += 1  # a job starts
                            LOG.info("started %s", rule)
                except KeyboardInterrupt:
                    proc.send_signal(signal.SIGINT)  # Snakemake stops its jobs and removes their partial outputs
                    try:
                        proc.wait(timeout=60)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                    raise
        finally:
            if started and not (given.dryrun or given.report):
                os.replace(pending, out / RUN_RECORD)
            else:
                pending.unlink(missing_ok=True)
        if proc.returncode != 0:
            raise PipelineError(_failure_message(lines, proc.returncode, log_path, out))
        if given.dryrun and not echo:
            jobs = dry_run_jobs(lines)
            if jobs:
                listed = ", ".join(f"{name} x{n}" if n > 1 else name for name, n in jobs.items())
                LOG.info("dry run: would run %d job%s: %s", sum(jobs.values()), "" if sum(jobs.values()) == 1 else "s", listed)
            else:
                LOG.info("dry run: nothing to do; the results are up to date")

    def load_results(self) -> PipelineResult:
        """Read the outputs of a finished run in ``output_dir`` (no run)."""
        results = Results(self.config.output_dir / "results")
        return PipelineResult(
            output_dir=self.config.output_dir,
            final_descriptors=read_lines(results.final_list),
            clusters=read_json(results.cluster_report),
        )


def _is_snakemake_report(path: Path) -> bool:
    """A report Snakemake wrote: its HTML page, or a zip archive holding one."""
    if path.suffix == ".zip":
        import zipfile

        with zipfile.ZipFile(path) as archive:
            return any(name.endswith("report.html") for name in archive.namelist())
    with open(path, "rb") as handle:
        return b"<title>Snakemake Report</title>" in handle.read(4096)


def _snakemake_options(args: Sequence[str]) -> Any:
    """Snakemake's own reading of ``args`` (targets, --dry-run, --report, ...); an argument Snakemake does
    not know is a one-line error."""
    from snakemake.cli import get_argument_parser

    parser = get_argument_parser()
    try:
        known, unknown = parser.parse_known_args(list(args))
    except SystemExit:
        raise PipelineError(f"snakemake arguments {' '.join(args)!r}: not valid for snakemake (see snakemake --help)") from None
    if unknown:
        raise PipelineError(f"snakemake arguments: {unknown[0]!r} is not a snakemake option (see snakemake --help)")
    return known


def dry_run_jobs(lines: Sequence[str]) -> dict[str, int]:
    """The jobs of a dry run (Snakemake's 'Job stats' table), rule -> count, without the ``all`` target."""
    jobs: dict[str, int] = {}
    if "Job stats:" not in lines:
        return jobs
    for line in lines[lines.index("Job stats:") + 3:]:
        name, _, count = line.strip().rpartition(" ")
        if not count.isdigit() or name.strip() == "total":
            break
        if name.strip() != "all":
            jobs[name.strip()] = int(count)
    return jobs


def _failure_message(lines: list[str], returncode: int, log: Path, directory: Path | None = None) -> str:
    """The one line that says what went wrong: a stage's ``ERROR:`` line, else Snakemake's own error."""
    if any("Directory cannot be locked" in line or "LockException" in line for line in lines):
        where = directory if directory is not None else Path(".")
        return (f"{where}: the run directory is locked by another run, or by one that was killed; when none is "
                f"running there, remove the lock with: descriptor-pipeline run --directory {where} -- --unlock")
    return _with_directory(_first_error(lines, returncode, log), directory)


def _first_error(lines: list[str], returncode: int, log: Path) -> str:
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


def _with_directory(message: str, directory: Path | None) -> str:
    """A stage's advice names the run directory as DIR; the CLI knows which it is."""
    return message.replace("--directory DIR", f"--directory {directory}") if directory is not None else message
