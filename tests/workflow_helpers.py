"""Running the real workflow through Snakemake in a temporary copy of the repository (shared by tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from descriptor_pipeline.layout import Results
from descriptor_pipeline.settings import PASSES

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"


# The files of a run, relative to the run directory (Snakemake targets, paths on a command line), from the
# one definition of the layout.
RUN = Results()


def results_of(wd: str | os.PathLike[str]) -> Results:
    """The files of the run in directory ``wd`` (its ``results/`` folder)."""
    return Results(Path(wd) / RUN.root)


# Outputs that must be byte-identical between runs of the same input and seed.
# The report's settings page (versions) and the benchmark figure (times) are not among them.
DETERMINISTIC = [
    str(RUN.final_list),
    str(RUN.cluster_report),
    *[str(RUN.stage(p).clusters) for p in PASSES],
    str(RUN.alternatives),
    *[str(path) for figure, _, path in RUN.figures(PASSES, stability=False)
      if figure.key not in ("settings", "predictability")],
]


def copy_workflow(wd: Path) -> Path:
    """A copy of the workflow (Snakefile, config, workflow, profiles) in the new directory ``wd``."""
    wd.mkdir(parents=True)
    shutil.copy2(REPO / "Snakefile", wd / "Snakefile")
    for d in ("config", "workflow", "profiles"):
        shutil.copytree(REPO / d, wd / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return wd


def snakemake_env() -> dict[str, str]:
    """The environment for snakemake and its jobs: this venv's executables first on PATH."""
    return dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return copy_workflow(tmp_path / "repo")


def snakemake(wd: Path, config: dict | None = None, *extra: str, target: str = "all") -> subprocess.CompletedProcess:
    assert SNAKEMAKE.exists(), f"snakemake is not installed next to {sys.executable}"
    cmd = [str(SNAKEMAKE), "--cores", "2", target, *extra]
    if config is not None:
        (wd / "test-config.yaml").write_text(yaml.safe_dump(config))
        cmd += ["--configfile", "test-config.yaml"]
    return subprocess.run(cmd, cwd=wd, env=snakemake_env(), capture_output=True, text=True, timeout=300)


def output_of(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, output_of(proc)[-5000:]




def assert_requests_cover_peaks(wd: Path, expected_jobs: int = 8) -> None:
    """Every job of the run in ``wd`` peaked (its own VmHWM, in its log) at or under the memory it asked
    the scheduler for (mem_mb): a cluster would not have killed it."""
    from descriptor_pipeline.stage import job_memory

    jobs = job_memory(wd / "logs")
    assert len(jobs) >= expected_jobs, sorted(jobs)
    over = {job: m for job, m in jobs.items() if m["peak_mib"] > m.get("asked_mib", float("inf"))}
    assert not over, over
    assert all("asked_mib" in m for m in jobs.values()), jobs
