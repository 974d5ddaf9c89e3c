"""The built wheel, installed alone in a fresh virtual environment, runs the workflow from any directory.

Builds the wheel from the project's files, installs it (and its dependencies, from the package index)
into a new venv, and uses only that venv's ``descriptor-pipeline``, in a directory that is not the
checkout: ``init``, ``run`` on planted data (checked against the planted truth), a one-line config
error and a dry run with the Slurm profile written by ``init``; and the conda envs' pip entry, read in the
installed copy, names a project that builds the same wheel again. uv builds, creates the venv and
installs (compiling the bytecode, as pip does: about 25 s from its cache, where pip takes 45 s).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from descriptor_pipeline.demo import make_table
from workflow_helpers import REPO, results_of

pytestmark = [pytest.mark.slow, pytest.mark.index]

# What the wheel is built from; tests/, docs/ and benchmarks/ stay out of it.
SOURCES = ["pyproject.toml", "README.md", "LICENSE", "Snakefile", "src", "config", "profiles", "workflow"]
SETTINGS = ["sample_rows=0", "passes.hsic.max_rows=0", "passes.rdc.max_rows=0", "carry_columns=[mol_id]"]


def run(cmd: list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "DESCRIPTOR_PIPELINE_WORKFLOW")}
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-5000:]
    return proc.stdout


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("wheel")
    src = root / "src-copy"
    src.mkdir()
    for name in SOURCES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy2)(
            REPO / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__", "*.egg-info")} if (REPO / name).is_dir() else {})
        )
    uv = [sys.executable, "-m", "uv", "--quiet"]
    ok(run([*uv, "build", "--wheel", "--out-dir", str(root / "dist"), str(src)], root))
    (wheel,) = (root / "dist").glob("descriptor_pipeline-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for member in ("Snakefile", "config/config.yaml", "config/schema.yaml", "profiles/slurm/config.yaml",
                   "workflow/rules/passes.smk", "workflow/scripts/ingest.py", "workflow/envs/cpu.yaml",
                   "workflow/report/workflow.rst"):
        assert f"descriptor_pipeline/_workflow/{member}" in names, member
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), "the wheel carries the LICENSE"
    venv = root / "venv"
    ok(run([*uv, "venv", "--python", sys.executable, str(venv)], root))
    ok(run([*uv, "pip", "install", "--compile-bytecode", "--python", str(venv / "bin" / "python"), f"{wheel}[slurm]"], root))
    return venv


def test_wheel_runs_the_workflow_from_any_directory(fresh_venv: Path, tmp_path: Path) -> None:
    tool = str(fresh_venv / "bin" / "descriptor-pipeline")
    where = ok(run([str(fresh_venv / "bin" / "python"), "-c", "import descriptor_pipeline; print(descriptor_pipeline.__file__)"], tmp_path))
    assert Path(where.strip()).is_relative_to(fresh_venv)  # the installed copy, not the checkout

    table, truth = make_table(n_rows=600, seed=3, n_monotone=6, n_wave=4, n_independent=12)
    data = tmp_path / "data"
    data.mkdir()
    for i, lo in enumerate(range(0, table.num_rows, 200)):
        pq.write_table(table.slice(lo, 200), data / f"part-{i}.parquet")

    ok(run([tool, "init", "my-run"], tmp_path))
    proc = run([tool, "run", "--configfile", "my-run/config.yaml", "--directory", "my-run", "--input", "data",
                "--cores", "2", "--config", *SETTINGS], tmp_path)
    printed = results_of("my-run")  # the outputs the run prints, relative to where it was started
    assert ok(proc).split() == [str(printed.final_list), str(printed.cluster_report)]
    snakefile = proc.stderr.split("--snakefile ", 1)[1].split()[0]  # the command the run logged
    assert Path(snakefile).is_relative_to(fresh_venv) and snakefile.endswith("descriptor_pipeline/_workflow/Snakefile")
    results = results_of(tmp_path / "my-run")
    final = results.final_list.read_text().splitlines()
    for group in truth.monotone_groups:
        assert len(set(group) & set(final)) == 1, group
    assert set(truth.independent) <= set(final)
    reduced = pq.read_table(results.reduced / "part-0.parquet")
    assert reduced.column_names == ["mol_id", *final] and reduced.num_rows == 200
    for group in truth.wave_groups:
        assert len(set(group) & set(final)) == 1, group

    # Errors stay one line; a dry run with the Slurm profile that init wrote is accepted.
    bad = run([tool, "run", "--directory", "my-run", "--config", "passes={rdc: {threshold: 2}}"], tmp_path)
    assert bad.returncode == 1 and bad.stderr.count("\n") == 1 and "config key 'passes.rdc.threshold'" in bad.stderr
    dry = run([tool, "run", "--configfile", "my-run/config.yaml", "--directory", "my-run", "--input", "data",
               "--profile", "slurm", "-v", "--config", *SETTINGS, "seed=1", "--", "--dry-run"], tmp_path)
    assert dry.returncode == 0, (dry.stdout + dry.stderr)[-3000:]
    assert "my_account" in (tmp_path / "my-run/profiles/slurm/config.yaml").read_text()
    assert "ingest" in dry.stderr and "This was a dry-run" in dry.stderr


def test_the_conda_envs_install_this_package_from_the_installed_wheel(fresh_venv: Path, tmp_path: Path) -> None:
    """Each env's pip entry (``../..`` from workflow/envs/) names, in the installed wheel, a project that
    builds the wheel it was installed from: what ``conda env create`` runs for a rule's env."""
    (wheel,) = (fresh_venv.parent / "dist").glob("descriptor_pipeline-*.whl")
    where = ok(run([str(fresh_venv / "bin" / "python"), "-c",
                    "import descriptor_pipeline._workflow as w; print(w.__path__[0])"], tmp_path)).strip()
    envs = sorted(Path(where, "workflow", "envs").glob("*.yaml"))
    assert [e.name for e in envs] == ["cpu.yaml", "gpu.yaml"]
    targets = set()
    for env in envs:
        (pip,) = [d["pip"] for d in yaml.safe_load(env.read_text())["dependencies"] if isinstance(d, dict)]
        targets.add((env.parent / pip[0]).resolve())
    (target,) = targets
    assert target.is_relative_to(fresh_venv)
    copy = tmp_path / "project"  # built from a copy: a build writes its egg-info next to the sources
    shutil.copytree(target, copy, ignore=shutil.ignore_patterns("__pycache__"))
    ok(run([sys.executable, "-m", "uv", "--quiet", "build", "--wheel", "--out-dir", str(tmp_path / "again"), str(copy)], tmp_path))
    (rebuilt,) = (tmp_path / "again").glob("descriptor_pipeline-*.whl")
    first, second = zipfile.ZipFile(wheel), zipfile.ZipFile(rebuilt)
    files = sorted(n for n in first.namelist() if not n.endswith("dist-info/RECORD"))
    assert files == sorted(n for n in second.namelist() if not n.endswith("dist-info/RECORD"))
    for name in files:
        if not name.endswith("dist-info/WHEEL"):
            assert first.read(name) == second.read(name), name
