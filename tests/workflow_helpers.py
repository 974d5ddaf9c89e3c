"""Running the real workflow through Snakemake in a temporary copy of the repository (shared by tests)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SNAKEMAKE = BIN / "snakemake"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    wd = tmp_path / "repo"
    wd.mkdir()
    shutil.copy2(REPO / "Snakefile", wd / "Snakefile")
    for d in ("config", "workflow", "profiles"):
        shutil.copytree(REPO / d, wd / d, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return wd


def snakemake(wd: Path, config: dict | None = None, *extra: str, target: str = "all") -> subprocess.CompletedProcess:
    assert SNAKEMAKE.exists(), f"snakemake is not installed next to {sys.executable}"
    cmd = [str(SNAKEMAKE), "--cores", "2", target, *extra]
    if config is not None:
        (wd / "test-config.yaml").write_text(yaml.safe_dump(config))
        cmd += ["--configfile", "test-config.yaml"]
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return subprocess.run(cmd, cwd=wd, env=env, capture_output=True, text=True, timeout=300)


def output_of(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def assert_ok(proc: subprocess.CompletedProcess) -> None:
    assert proc.returncode == 0, output_of(proc)[-5000:]


