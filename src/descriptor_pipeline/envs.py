"""The rules' conda environments, wherever Snakemake reads the workflow from.

``workflow/envs/*.yaml`` install this package with the pip entry ``../..``: the project two folders above
the env file. That folder is the project in a checkout, and in an installed wheel too, which carries the
project's sources next to the workflow (``descriptor_pipeline/_workflow``, see pyproject.toml). A module
read from git (``github(...)``, ``gitlab(...)``, ``gitfile(...)``) is different: Snakemake writes such an env
file to a temporary folder, where a relative path names nothing, so the rules get a copy of the env whose
pip entry installs the package from that repository at the module's own ref.
"""

from __future__ import annotations

import posixpath

import yaml

from .errors import PipelineError

PROJECT_FROM_ENV = "../.."  # the pip entry of every file in workflow/envs/
PACKAGE = "descriptor-pipeline"


def git_requirement(rules_dir) -> str | None:
    """The pip requirement of this package for a workflow whose rules folder is ``rules_dir`` (a Snakemake
    source file): None where it is read from local files, else the repository at the module's ref."""
    project = posixpath.normpath(posixpath.join(getattr(rules_dir, "path", ""), "../envs", PROJECT_FROM_ENV))
    subdirectory = "" if project in (".", "") else f"#subdirectory={project}"
    if getattr(rules_dir, "host", None) and getattr(rules_dir, "repo", None):  # github(...), gitlab(...)
        return f"{PACKAGE} @ git+https://{rules_dir.host}/{rules_dir.repo}@{rules_dir.ref}{subdirectory}"
    if hasattr(rules_dir, "repo_path"):  # gitfile(...)
        return f"{PACKAGE} @ git+file://{posixpath.abspath(rules_dir.repo_path)}@{rules_dir.ref}{subdirectory}"
    return None


def with_requirement(env_text: str, requirement: str, name: str) -> str:
    """The env file ``env_text`` with its project entry replaced by ``requirement`` (and git, which pip needs
    to read a git URL)."""
    env = yaml.safe_load(env_text)
    dependencies = env.get("dependencies", []) if isinstance(env, dict) else []
    pips = [d["pip"] for d in dependencies if isinstance(d, dict) and isinstance(d.get("pip"), list)]
    if not pips or PROJECT_FROM_ENV not in pips[0]:
        raise PipelineError(f"conda env {name}: its pip section must list {PROJECT_FROM_ENV!r} (this package)")
    pips[0][pips[0].index(PROJECT_FROM_ENV)] = requirement
    if "git" not in dependencies:
        dependencies.insert(dependencies.index("pip") if "pip" in dependencies else len(dependencies), "git")
    return yaml.safe_dump(env, sort_keys=False)
