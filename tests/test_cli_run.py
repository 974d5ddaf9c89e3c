"""``descriptor-pipeline run`` / ``init`` and nested ``--config`` overrides (from our CLI and from snakemake)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from snakemake.cli import parse_config

from descriptor_pipeline.cli import main
from descriptor_pipeline.config import coerce_config, parse_overrides, read_yaml, validate_config
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.run import _settings, commented_config
from descriptor_pipeline.settings import complete
from descriptor_pipeline.settings import defaults as schema_defaults
from descriptor_pipeline.settings import read_by
from workflow_helpers import REPO, SNAKEMAKE, output_of, results_of, snakemake_env

SCHEMA = REPO / "config" / "schema.yaml"


def test_parse_overrides_nested_dotted_and_typed() -> None:
    got = parse_overrides([
        "seed=7", "passes.hsic.threshold=0.85", "passes={rdc: {enabled: false}}", "keep=[a, 'b c']",
        "input=*.parquet", "ingest.max_missing_ratio=1e-12", "prefer=",
    ])
    assert got == {
        "seed": 7,
        "passes": {"hsic": {"threshold": 0.85}, "rdc": {"enabled": False}},
        "keep": ["a", "b c"],
        "input": "*.parquet",  # a YAML alias, so taken as the text
        "ingest": {"max_missing_ratio": "1e-12"},  # YAML 1.1 reads it as a string; coerce_config types it
        "prefer": None,
    }
    assert parse_overrides(["seed=1", "seed=2"]) == {"seed": 2}
    for bad in ("seed", "=3", "passes..hsic=1"):
        with pytest.raises(PipelineError, match=r"--config .*expected KEY=VALUE"):
            parse_overrides([bad])


def test_snakemake_nested_config_strings_are_typed() -> None:
    """Snakemake's own parser keeps nested scalars strings; coerce_config gives back the schema's types."""
    raw = parse_config([
        "passes={hsic: {enabled: false, threshold: 0.85, n_features: 32}, rdc: {s: 1e-1}}",
        "ingest={max_missing_ratio: 1e-12}", "exclude_columns=[id, 3]",
    ])
    assert raw["passes"]["hsic"] == {"enabled": "false", "threshold": "0.85", "n_features": "32"}  # the bug
    schema = read_yaml(SCHEMA, "schema")
    typed = coerce_config(raw, schema)
    assert typed["passes"]["hsic"] == {"enabled": False, "threshold": 0.85, "n_features": 32}
    assert typed["passes"]["rdc"] == {"s": 0.1} and typed["ingest"] == {"max_missing_ratio": 1e-12}
    assert typed["exclude_columns"] == ["id", "3"]  # a list of names stays strings
    defaults = schema_defaults(schema)
    from descriptor_pipeline.config import deep_merge

    validate_config(deep_merge(defaults, typed), SCHEMA)
    # What does not spell the type stays a string, so validation names it.
    bad = coerce_config(parse_config(["passes={hsic: {enabled: nope, n_features: 3.5}}"]), schema)
    assert bad["passes"]["hsic"] == {"enabled": "nope", "n_features": "3.5"}
    with pytest.raises(PipelineError, match=r"config key 'passes\.hsic\.(enabled|n_features)'"):
        validate_config(deep_merge(defaults, bad), SCHEMA)


def test_commented_config_reads_back_as_the_defaults() -> None:
    schema = read_yaml(SCHEMA, "schema")
    defaults = schema_defaults(schema)
    table = read_by(schema)
    text = commented_config(defaults, schema)
    assert yaml.safe_load(text) == defaults
    lines = text.splitlines()
    # Every key, at every level, comes right after the comment holding its description and (for a
    # setting) the stages that read it.
    def check(mapping: dict, props: dict, indent: int, start: int, prefix: str) -> None:
        for key, value in mapping.items():
            at = next(i for i in range(start, len(lines)) if lines[i].startswith(" " * indent + f"{key}:"))
            comment = []
            j = at - 1
            while j >= 0 and lines[j].lstrip().startswith("#"):
                comment.insert(0, lines[j].strip().lstrip("# "))
                j -= 1
            expected = " ".join(props[key]["description"].split())
            if not isinstance(value, dict):
                expected += f" (read by: {', '.join(table[prefix + key])})"
            assert " ".join(comment) == expected, key
            if isinstance(value, dict):
                check(value, props[key]["properties"], indent + 2, at, f"{prefix}{key}.")

    check(defaults, schema["properties"], 0, 0, "")


def test_init_writes_config_and_profile_and_refuses_to_overwrite(tmp_path: Path, capsys) -> None:
    out = tmp_path / "my run"
    assert main(["init", str(out)]) == 0
    written = capsys.readouterr().out.split("\n")
    assert written[:2] == [str(out / "config.yaml"), str(out / "profiles/slurm/config.yaml")]
    assert yaml.safe_load((out / "config.yaml").read_text()) == schema_defaults(read_yaml(SCHEMA, "schema"))
    assert (out / "profiles/slurm/config.yaml").read_text() == (REPO / "profiles/slurm/config.yaml").read_text()
    (out / "config.yaml").write_text("seed: 1\n")
    assert main(["init", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "config.yaml already exists" in err and "--force" in err
    assert (out / "config.yaml").read_text() == "seed: 1\n"
    assert main(["init", str(out), "--force"]) == 0
    assert yaml.safe_load((out / "config.yaml").read_text())["seed"] == 42


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "passes.hsic.enabled=nope"], "config key 'passes.hsic.enabled': 'nope' is not of type 'boolean'"),
        (["--config", "passes.hsik.enabled=false"], "config key 'passes.hsik': unknown key"),
        (["--config", "ingest.min_robust_variance=1e-10"],
         "config key 'ingest.min_robust_variance': no longer read; replaced by 'ingest.min_off_mode_rows', a count"),
        (["--config", "seed"], "--config 'seed': expected KEY=VALUE"),
        (["--input", "missing/*.parquet"], "matches no file"),
        (["--profile", "nope"], "--profile 'nope': no config.yaml"),
        (["--resources", "gpu"], "--resources 'gpu': expected NAME=INTEGER"),
        (["--configfile", "absent.yaml"], "config file absent.yaml: cannot be read"),
    ],
)
def test_run_bad_arguments_one_line(args: list[str], message: str, tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["run", *args]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("descriptor-pipeline: error: ") and message in err, err
    assert not results_of(tmp_path).root.exists()


def dry_run_jobs(output: str) -> set[str]:
    """The rules of the jobs a Snakemake dry run would run (from its job-stats table)."""
    table = output.split("Job stats:", 1)[1].split("\n\n", 1)[0]
    return {m.group(1) for m in re.finditer(r"^(\w+)\s+\d+\s*$", table, re.M)} - {"total"}


@pytest.mark.slow
def test_run_passes_overrides_and_snakemake_args(tmp_path: Path, monkeypatch, capsys) -> None:
    """A dry run through ``run`` (arguments after -- go to snakemake) with typed, nested overrides;
    and the same nested override given to snakemake itself."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my.yaml").write_text("seed: 5\npasses:\n  hsic:\n    threshold: 0.7\n")
    code = main([
        "run", "--directory", "out", "--configfile", "my.yaml", "--cores", "1",
        "--config", "passes={rdc: {enabled: false}}", "passes.hsic.n_features=32", "seed=9", "--", "--dry-run",
    ])
    assert code == 0, capsys.readouterr().err
    assert not (tmp_path / "out/run-config.yaml").exists()  # a dry run leaves no record: it made no results
    used = complete(_settings(["my.yaml"], ["passes={rdc: {enabled: false}}", "passes.hsic.n_features=32", "seed=9"], None))
    assert used["seed"] == 9 and used["passes"]["rdc"]["enabled"] is False
    assert used["passes"]["hsic"] == {"enabled": True, "threshold": 0.7, "min_predictability": 0.5, "n_features": 32,
                                      "max_rows": 5000, "shards": 1}
    log = (tmp_path / "out/logs/snakemake.log").read_text()
    assert "rdc" not in dry_run_jobs(log) and {"ingest", "spearman", "hsic", "select"} <= dry_run_jobs(log)
    assert not results_of(tmp_path / "out").final_list.exists()

    proc = subprocess.run(
        [str(SNAKEMAKE), "-n", "--cores", "1", "-s", str(REPO / "Snakefile"), "--directory", str(tmp_path / "raw"),
         "--config", "passes={hsic: {enabled: false, threshold: 0.5}}"],
        env=snakemake_env(), capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, output_of(proc)[-3000:]
    assert "hsic" not in dry_run_jobs(proc.stdout) and "rdc" in dry_run_jobs(proc.stdout)


@pytest.mark.parametrize("command", [[], ["run"], ["apply"], ["explain"], ["init"], ["report"], ["demo"], ["backtrack"]])
def test_help_is_plain_text(command: list[str], capsys) -> None:
    from descriptor_pipeline.cli import main

    with pytest.raises(SystemExit) as stop:
        main([*command, "--help"])
    text = capsys.readouterr().out
    assert stop.value.code == 0 and text.startswith("usage: descriptor-pipeline")
    assert "``" not in text and ":func:" not in text and ":class:" not in text, text
