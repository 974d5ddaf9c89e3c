"""The whole workflow on a real Slurm cluster with profiles/slurm: same outputs as a local run, and the
memory, time limit and GPU requests of the rules reach Slurm.

Needs a running cluster with a partition `debug` and at least one GPU as GRES (CI: .ci/run starts a
single-node one with .ci/slurm-ci.sh and fake GPUs). Without one the test is skipped, unless
DESCRIPTOR_PIPELINE_REQUIRE_SLURM=1 (set by .ci/run) makes that a failure.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml

from descriptor_pipeline.settings import PASSES
from workflow_helpers import RUN, SNAKEMAKE, assert_ok, copy_workflow, results_of, snakemake, snakemake_env

pytestmark = pytest.mark.slow

PARTITION = "debug"

CLUSTER_RULES = ("ingest", *PASSES, "reduce")  # demo_data, select, backtrack and the report are local rules
CONFIG = {"input": "data/*.parquet", "exclude_columns": ["row_id"], "backend": "numpy"}
SAME_BYTES = [str(RUN.final_list), *(str(RUN.stage(p).clusters) for p in PASSES)]
RUN_SPECIFIC = ("input_files", "package_versions")  # cluster report metadata that may differ between runs


def slurm_unavailable() -> str | None:
    """Why the cluster cannot run the test, or None."""
    for tool in ("sinfo", "sbatch", "squeue", "scontrol"):
        if shutil.which(tool) is None:
            return f"no Slurm here ({tool} not found)"
    try:
        ping = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
        if "UP" not in ping.stdout:  # fast; sinfo takes about 20 s to give up on a stopped controller
            return f"Slurm is not running: {(ping.stdout.strip() or ping.stderr.strip()).splitlines()[0]}"
        proc = subprocess.run(
            ["sinfo", "-h", "-p", PARTITION, "-o", "%T %G"], capture_output=True, text=True, timeout=20
        )
    except subprocess.TimeoutExpired as exc:
        return f"{exc.cmd[0]} did not answer within 20 s"
    if proc.returncode != 0:
        return f"Slurm is not running: {(proc.stdout + proc.stderr).strip()[:300]}"
    nodes = [line.split() for line in proc.stdout.splitlines() if line.strip()]
    if not any(state.rstrip("*~#") in ("idle", "mixed", "allocated", "completing") for state, *_ in nodes):
        return f"no usable node in partition {PARTITION!r}: {proc.stdout.strip() or 'no such partition'}"
    if not any("gpu" in " ".join(rest) for _, *rest in nodes):
        return f"no GPU GRES in partition {PARTITION!r} (start the CI cluster with SLURM_CI_FAKE_GPUS=1)"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed (pip install -e '.[slurm]')"
    return None


@pytest.fixture(scope="module")
def slurm_cluster() -> None:
    reason = slurm_unavailable()
    if reason is None:
        return
    if os.environ.get("DESCRIPTOR_PIPELINE_REQUIRE_SLURM") == "1":
        pytest.fail(f"DESCRIPTOR_PIPELINE_REQUIRE_SLURM=1 but {reason}")
    pytest.skip(f"{reason}; in CI .ci/run starts a cluster")


def workflow_with_input(wd: Path) -> Path:
    """A copy of the workflow in ``wd`` with the tiny input."""
    copy_workflow(wd)
    write_input(wd / "data")
    return wd


def write_input(data: Path, n: int = 400) -> None:
    """Two Parquet files, ten columns: monotone copies, an exact duplicate, a square, independents."""
    rng = np.random.default_rng(11)
    a, b, c, d, e = (rng.normal(size=n) for _ in range(5))
    table = pa.table({
        "row_id": np.arange(n),
        "a": a,
        "a_cubed": a**3 + 0.01 * rng.normal(size=n),  # monotone copies of a
        "a_exp": np.exp(a),
        "b": b,
        "b_copy": b.copy(),  # exact duplicate (ingest)
        "c": c,
        "c_squared": c**2,  # not monotone, but dependent
        "d": d,
        "e": e,
        "const": np.full(n, 2.5),
    })
    data.mkdir()
    pq.write_table(table.slice(0, n // 3), data / "part-000.parquet")
    pq.write_table(table.slice(n // 3), data / "part-001.parquet")


def write_test_profile(wd: Path) -> str:
    """profiles/slurm with the CI cluster's site settings, fast status checks, and gpu=1 on the passes."""
    profile = yaml.safe_load((wd / "profiles/slurm/config.yaml").read_text())
    profile["default-resources"].update(slurm_partition=PARTITION, slurm_account="ci")
    profile.update({
        "slurm-status-command": "squeue",  # no accounting on the CI cluster: sacct would hang
        "slurm-init-seconds-before-status-checks": 2,
        "seconds-between-status-checks": 2,
        "slurm-keep-successful-logs": True,
        "retries": 0,
        "latency-wait": 5,
    })
    # backend numpy, but the GPU request of a cupy run: Slurm has to schedule and allocate it
    overrides = profile.get("set-resources") or {}
    for p in PASSES:
        overrides.setdefault(p, {})["gpu"] = 1
    profile["set-resources"] = overrides
    (wd / "profiles/slurm-test").mkdir()
    (wd / "profiles/slurm-test/config.yaml").write_text(yaml.safe_dump(profile))
    return "profiles/slurm-test"


def submitted_jobs(output: str) -> dict[str, list[tuple[str, dict[str, str]]]]:
    """rule -> [(Slurm job id, resources snakemake printed for the job)], from the run's output."""
    rules, resources = {}, {}
    current = None
    for line in output.splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):", line.strip()):
            current = m.group(1)
        elif current and (m := re.match(r"^jobid: (\d+)", line.strip())):
            rules[m.group(1)] = current
        elif current and line.strip().startswith("resources:"):
            resources[current] = dict(
                item.split("=", 1) for item in line.strip()[len("resources:") :].split(", ") if "=" in item
            )
    jobs: dict[str, list[tuple[str, dict[str, str]]]] = {}
    for m in re.finditer(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output):
        rule = rules[m.group(1)]
        jobs.setdefault(rule, []).append((m.group(2), resources[rule]))
    return jobs


def scontrol_job(job_id: str) -> str:
    proc = subprocess.run(["scontrol", "show", "job", "-d", job_id], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, f"scontrol show job {job_id}: {proc.stdout}{proc.stderr} (gone after MinJobAge?)"
    return proc.stdout


def field(record: str, name: str) -> str:
    m = re.search(rf"(?:^|\s){name}=(\S*)", record)
    assert m, f"no {name}= in:\n{record}"
    return m.group(1)


def megabytes(value: str) -> int:
    """Slurm's 2100M / 2G / 1T as MB (Slurm's M is MiB, the unit of sbatch --mem)."""
    number, unit = re.fullmatch(r"(\d+(?:\.\d+)?)([KMGT]?)", value).groups()
    return round(float(number) * {"K": 1 / 1024, "M": 1, "": 1, "G": 1024, "T": 1024**2}[unit])


def minutes(value: str) -> int:
    """Slurm's [D-]HH:MM:SS as minutes."""
    days, _, clock = value.rpartition("-")
    h, m, s = (int(x) for x in clock.split(":"))
    return int(days or 0) * 1440 + h * 60 + m + (s > 0)


def without_run_metadata(path: Path) -> dict:
    report = json.loads(path.read_text())
    for key in RUN_SPECIFIC:
        report["metadata"].pop(key)
    return report


def test_workflow_on_slurm_matches_local_run(slurm_cluster: None, tmp_path: Path) -> None:
    local = workflow_with_input(tmp_path / "local")
    cluster = workflow_with_input(tmp_path / "cluster")
    (local / "test-config.yaml").write_text(yaml.safe_dump(CONFIG))
    (cluster / "test-config.yaml").write_text(yaml.safe_dump(CONFIG))
    profile = write_test_profile(cluster)

    # The jobs run in the environment of the submitting shell (sbatch --export=ALL): this venv first.
    cmd = [str(SNAKEMAKE), "--workflow-profile", profile, "--configfile", "test-config.yaml"]
    on_slurm = subprocess.Popen(cmd, cwd=cluster, env=snakemake_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        local_run = snakemake(local, None, "--configfile", "test-config.yaml")  # meanwhile, the local run
        output, _ = on_slurm.communicate(timeout=300)
    finally:
        if on_slurm.poll() is None:
            on_slurm.kill()
            on_slurm.communicate()
    assert on_slurm.returncode == 0, output[-6000:]
    assert_ok(local_run)
    assert "localrule backtrack:" in output  # the cheap rules did not go to the cluster

    # What the rules asked for reached Slurm: memory, time limit, and for the passes one GPU.
    jobs = submitted_jobs(output)
    assert sorted(jobs) == sorted(CLUSTER_RULES), output[-6000:]
    evidence = []
    for rule in CLUSTER_RULES:
        ((job_id, asked),) = jobs[rule]
        record = scontrol_job(job_id)
        assert field(record, "JobState") == "COMPLETED", record
        assert field(record, "Partition") == PARTITION
        assert megabytes(field(record, "MinMemoryNode")) == int(asked["mem_mb"]), (asked, record)
        assert minutes(field(record, "TimeLimit")) == int(asked["runtime"]), (asked, record)
        if rule in PASSES:
            assert asked["gpu"] == "1"
            assert field(record, "TresPerJob") == "gres:gpu:1", record  # requested: sbatch --gpus=1
            assert field(record, "JOB_GRES") == "gpu:1", record  # and allocated
        else:
            assert "TresPerJob" not in record and field(record, "JOB_GRES") == "(null)", record
        evidence.append(
            f"{rule} job {job_id}: MinMemoryNode={field(record, 'MinMemoryNode')} TimeLimit={field(record, 'TimeLimit')}"
            f" TRES={field(record, 'TRES')} JOB_GRES={field(record, 'JOB_GRES')}"
        )
        assert (cluster / ".snakemake/slurm_logs" / f"rule_{rule}" / f"{job_id}.log").exists()
    print("\n".join(evidence))

    # The same results as the local run.
    for path in SAME_BYTES:
        assert (cluster / path).read_bytes() == (local / path).read_bytes(), path
    report = results_of(cluster).cluster_report
    assert without_run_metadata(report) == without_run_metadata(results_of(local).cluster_report)
    # and they are meaningful: one survivor for a and its monotone copies, b_copy merged at ingest
    final = results_of(cluster).final_list.read_text().split()
    assert len({"a", "a_cubed", "a_exp"} & set(final)) == 1, final
    assert "b_copy" not in final and {"d", "e"} <= set(final), final
    assert json.loads(report.read_text())["dropped"]["const"]["reason"] == "constant"
    for rule in ("ingest", *PASSES, "select", "backtrack"):
        assert (cluster / "logs" / f"{rule}.log").exists(), rule
    assert (cluster / "logs/benchmarks/spearman.tsv").exists()
