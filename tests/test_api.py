"""The Python API runs the same workflow as the command line, with the same outputs and the same errors."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from descriptor_pipeline import DescriptorPipeline, PipelineConfig, PipelineError
from descriptor_pipeline.demo import make_table
from workflow_helpers import REPO, RUN, assert_ok, output_of, results_of, snakemake

pytestmark = pytest.mark.slow

# A smaller planted table than the embedded demo: the same kinds of structure, quicker to run.
SETTINGS = {"sample_rows": 0, "passes": {"hsic": {"max_rows": 0}, "rdc": {"max_rows": 0}}}


@pytest.fixture(scope="module")
def planted_files(tmp_path_factory) -> tuple[Path, object]:
    table, truth = make_table(n_rows=600, seed=3, n_monotone=6, n_wave=4, n_independent=12)
    data = tmp_path_factory.mktemp("planted")
    for i, lo in enumerate(range(0, table.num_rows, 200)):
        pq.write_table(table.slice(lo, 200), data / f"part-{i}.parquet")
    return data, truth


def without_run_specific(report: dict) -> dict:
    """The cluster structure less what names the run itself (input paths, package versions)."""
    report = json.loads(json.dumps(report))
    report["metadata"].pop("input_files", None)
    report["metadata"].pop("package_versions", None)
    return report


def test_api_equals_command_line(planted_files, workdir: Path, tmp_path: Path, monkeypatch) -> None:
    data, _ = planted_files
    monkeypatch.chdir(tmp_path)  # a relative glob is taken from the caller's directory
    (tmp_path / "data").symlink_to(data)
    result = DescriptorPipeline(PipelineConfig(parquet_glob="data/*.parquet", output_dir="run", **SETTINGS)).run()

    assert_ok(snakemake(workdir, {**SETTINGS, "input": str(data / "*.parquet")}))
    cli_final = results_of(workdir).final_list.read_text().splitlines()
    cli_report = json.loads(results_of(workdir).cluster_report.read_text())

    assert result.final_descriptors == cli_final
    assert without_run_specific(result.clusters) == without_run_specific(cli_report)
    assert result.results_dir == Path("run") / RUN.root
    assert results_of(tmp_path / "run").final_list.read_text().splitlines() == cli_final
    for stage in ("ingest", "spearman", "hsic", "rdc"):
        assert (tmp_path / f"run/logs/{stage}.log").exists()  # every stage ran as its own job
    used = yaml.safe_load((tmp_path / "run/run-config.yaml").read_text())
    assert used["input"] == [str(tmp_path / "data/*.parquet")] and used["passes"]["hsic"]["max_rows"] == 0
    assert used["passes"]["hsic"]["threshold"] == 0.8  # nested defaults kept around the override
    survivor = next(s for s in result.final_descriptors if result.clusters["descriptors"][s]["alternative_descriptors"])
    assert result.alternatives(survivor) == result.clusters["descriptors"][survivor]["alternative_descriptors"]
    with pytest.raises(PipelineError, match="not a surviving descriptor"):
        result.alternatives("no-such-descriptor")

    # A second run with the same settings redoes nothing.
    log = tmp_path / "run/logs/snakemake.log"
    pipeline = DescriptorPipeline(PipelineConfig(parquet_glob="data/*.parquet", output_dir="run", **SETTINGS))
    pipeline.run()
    assert "Nothing to be done" in log.read_text()

    # The report of the run, as `snakemake --report`, written into the run directory.
    page = pipeline.report()
    assert page == Path("run/report.html")
    assert "Nothing to be done" in log.read_text()  # the run's log is kept; the report's has its own
    assert (tmp_path / "run/logs/snakemake-report.log").exists()
    assert json.dumps(str(RUN.figure("funnel"))) in page.read_text(encoding="utf-8")
    with pytest.raises(PipelineError, match=r"report path 'run/report\.pdf': the name must end in \.html or \.zip"):
        pipeline.report("run/report.pdf")


@pytest.mark.parametrize(
    ("settings", "key"),
    [({"seed": "forty-two"}, "seed"), ({"passes": {"rdc": {"threshold": 1.5}}}, "passes.rdc.threshold"), ({"sedd": 1}, "sedd")],
    ids=["wrong-type", "threshold-out-of-range", "unknown-key"],
)
def test_api_config_errors_match_the_command_line(settings, key, workdir: Path, tmp_path: Path) -> None:
    with pytest.raises(PipelineError) as caught:
        DescriptorPipeline(PipelineConfig(output_dir=tmp_path / "run", **settings)).run()
    message = str(caught.value)
    assert message.startswith(f"config key '{key}'") and "\n" not in message
    assert not (tmp_path / "run").exists()  # failed before anything was written
    proc = snakemake(workdir, settings)
    assert proc.returncode != 0
    assert message in output_of(proc)


def test_api_input_errors_are_one_line(planted_files, tmp_path: Path) -> None:
    data, _ = planted_files
    with pytest.raises(PipelineError, match=r"config key 'input'.*no/such/\*\.parquet"):
        DescriptorPipeline(PipelineConfig(parquet_glob=str(tmp_path / "no/such/*.parquet"), output_dir=tmp_path / "a")).run()
    # An error found inside a stage (a keep name that is not a column) comes back as that stage's line.
    config = PipelineConfig(parquet_glob=str(data / "*.parquet"), output_dir=tmp_path / "b", keep=["not_a_column"], **SETTINGS)
    with pytest.raises(PipelineError, match="'keep'.*not_a_column") as caught:
        DescriptorPipeline(config).run()
    assert "\n" not in str(caught.value) and "Traceback" not in str(caught.value)
    assert not results_of(tmp_path / "b").final_list.exists()
    with pytest.raises(PipelineError, match="not both"):
        PipelineConfig(parquet_glob="x/*.parquet", input="y/*.parquet")


def test_config_from_yaml(tmp_path: Path) -> None:
    path = tmp_path / "my-config.yaml"
    path.write_text("seed: 7\npasses:\n  hsic:\n    enabled: false\n")
    config = PipelineConfig.from_yaml(path, output_dir=tmp_path / "run")
    resolved = config.resolved(REPO)
    assert resolved["seed"] == 7 and resolved["passes"]["hsic"]["enabled"] is False
    assert resolved["passes"]["rdc"]["enabled"] is True and config.output_dir == tmp_path / "run"
    path.write_text("seed: [unclosed\n")
    with pytest.raises(PipelineError, match="my-config.yaml: not valid YAML"):
        PipelineConfig.from_yaml(path)
