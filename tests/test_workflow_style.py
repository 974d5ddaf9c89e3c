"""The workflow is lint-clean (`snakemake --lint`) and formatted (`snakefmt --check`)."""

from __future__ import annotations

import subprocess

import pytest

from workflow_helpers import BIN, REPO

pytestmark = pytest.mark.slow


def test_snakemake_lint_is_clean() -> None:
    proc = subprocess.run([str(BIN / "snakemake"), "--lint"], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_snakefmt_finds_nothing() -> None:
    proc = subprocess.run([str(BIN / "snakefmt"), "--check", "."], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
