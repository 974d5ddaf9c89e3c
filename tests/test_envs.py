"""The rules' conda environments install this package wherever the workflow is read from: the env files'
pip entry names the checkout (here), the installed wheel's copy (tests/test_wheel.py) and, for a module read
from git, the repository at the module's ref (here, the git form built by pip from this checkout)."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from snakemake.sourcecache import GithubFile, GitlabFile, LocalGitFile, LocalSourceFile

from descriptor_pipeline.envs import PROJECT_FROM_ENV, git_requirement, with_requirement
from descriptor_pipeline.errors import PipelineError
from workflow_helpers import REPO

ENVS = sorted((REPO / "workflow" / "envs").glob("*.yaml"))


def pip_section(env: dict) -> list[str]:
    (pip,) = [d["pip"] for d in env["dependencies"] if isinstance(d, dict)]
    return pip


@pytest.mark.parametrize("env", ENVS, ids=[e.name for e in ENVS])
def test_each_env_installs_the_checkouts_project(env: Path) -> None:
    assert pip_section(yaml.safe_load(env.read_text())) == [PROJECT_FROM_ENV]
    target = (env.parent / PROJECT_FROM_ENV).resolve()
    assert tomllib.loads((target / "pyproject.toml").read_text())["project"]["name"] == "descriptor-pipeline"
    assert (target / "src" / "descriptor_pipeline" / "__init__.py").is_file()


def test_local_files_keep_the_env_file_and_git_modules_name_their_ref() -> None:
    assert git_requirement(LocalSourceFile(str(REPO / "workflow" / "rules"))) is None
    github = GithubFile(repo="someone/descriptor-pipeline", path="workflow/rules", tag="v0.1.0")
    assert git_requirement(github) == "descriptor-pipeline @ git+https://github.com/someone/descriptor-pipeline@v0.1.0"
    gitlab = GitlabFile(repo="lab/tools", path="vendor/dp/workflow/rules", branch="main")
    assert git_requirement(gitlab) == "descriptor-pipeline @ git+https://gitlab.com/lab/tools@main#subdirectory=vendor/dp"
    local = LocalGitFile(str(REPO), path="workflow/rules", commit="0123abc")
    assert git_requirement(local) == f"descriptor-pipeline @ git+file://{REPO}@0123abc"


@pytest.mark.parametrize("env", ENVS, ids=[e.name for e in ENVS])
def test_a_git_modules_env_is_the_same_env_with_the_package_from_git(env: Path) -> None:
    requirement = "descriptor-pipeline @ git+https://github.com/someone/descriptor-pipeline@v0.1.0"
    ours, theirs = yaml.safe_load(env.read_text()), yaml.safe_load(with_requirement(env.read_text(), requirement, env.name))
    assert pip_section(theirs) == [requirement]
    assert theirs["channels"] == ours["channels"]
    plain = [d for d in ours["dependencies"] if isinstance(d, str)]
    assert [d for d in theirs["dependencies"] if isinstance(d, str)] == [*plain[:-1], "git", plain[-1]]  # git before pip
    with pytest.raises(PipelineError, match="conda env broken.yaml: its pip section must list '../..'"):
        with_requirement("dependencies: [python, pip, {pip: [numpy]}]", requirement, "broken.yaml")


@pytest.mark.slow
@pytest.mark.index
def test_pip_builds_the_package_from_a_git_ref(tmp_path: Path) -> None:
    """The git form of the requirement names something pip builds: this checkout's own repository at HEAD
    (a module from github(...) gets the same form with https)."""
    if not (REPO / ".git").exists():
        pytest.skip("the checkout is not a git repository")
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    requirement = git_requirement(LocalGitFile(str(REPO), path="workflow/rules", commit=head))
    proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", str(tmp_path),
                           requirement], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
    (archive,) = tmp_path.iterdir()
    assert archive.name.startswith("descriptor_pipeline") or archive.name.startswith("descriptor-pipeline"), archive.name
