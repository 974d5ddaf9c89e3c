"""The workflow as a Snakemake module: a user's own Snakefile includes it (``module ... snakefile:``,
``use rule * from ...``) with its own config, and runs to the final list the standalone workflow gives."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from descriptor_pipeline.demo import write_demo
from workflow_helpers import REPO, SNAKEMAKE, assert_ok, results_of, snakemake_env

pytestmark = pytest.mark.slow

USER_SNAKEFILE = """\
configfile: "config/config.yaml"

module descriptor_pipeline:
    snakefile: {snakefile!r}
    config: config

use rule * from descriptor_pipeline as dp_*
"""


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SNAKEMAKE), "--cores", "2", *args], cwd=cwd, env=snakemake_env(),
                          capture_output=True, text=True, timeout=600)


def test_a_users_snakefile_runs_the_workflow_as_a_module(tmp_path: Path) -> None:
    settings = {"input": "data/*.parquet", "exclude_columns": ["row_id"], "passes": {"hsic": {"enabled": False}}}
    project = tmp_path / "project"
    (project / "config").mkdir(parents=True)
    write_demo(project / "data", n_files=2, n_rows=1200)
    (project / "Snakefile").write_text(USER_SNAKEFILE.format(snakefile=str(REPO / "Snakefile")))
    (project / "config" / "config.yaml").write_text(yaml.safe_dump(settings))
    proc = run(project)
    assert_ok(proc)
    assert "rule dp_ingest:" in proc.stdout + proc.stderr  # the module's rules, under the user's prefix
    ours = results_of(project)
    assert not ours.stage("hsic").folder.exists()  # the user's config, not the module's defaults

    alone = tmp_path / "alone"  # the standalone workflow, the same input and settings
    alone.mkdir()
    (alone / "data").symlink_to(project / "data")
    (alone / "settings.yaml").write_text(yaml.safe_dump(settings))
    assert_ok(run(alone, "--snakefile", str(REPO / "Snakefile"), "--configfile", "settings.yaml"))
    theirs = results_of(alone)
    final = ours.final_list.read_text()
    assert final and final == theirs.final_list.read_text()
    assert ours.cluster_report.read_bytes().split(b'"metadata"')[0] == theirs.cluster_report.read_bytes().split(b'"metadata"')[0]


def test_the_catalog_files_exist() -> None:
    """LICENSE (and in the wheel's metadata) and the catalog's file; the conda envs are tests/test_envs.py's."""
    import tomllib

    assert (REPO / "LICENSE").read_text().startswith("MIT License")
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["software-stack-deployment"]["conda"] is True
