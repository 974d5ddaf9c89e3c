"""Faults and determinism through the real workflow: a pass killed with SIGKILL, two runs at once, other
core counts, another column order and another file split.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow.parquet as pq
import pytest
import yaml

from descriptor_pipeline.demo import make_table
from workflow_helpers import (DETERMINISTIC, RUN, SNAKEMAKE, assert_ok, copy_workflow, output_of, results_of, snakemake,
                              snakemake_env)

pytestmark = pytest.mark.slow

UPSTREAM = [str(RUN.ingest.sample), str(RUN.ingest.survivors), str(RUN.stage("spearman").summary)]
# Enough block pairs in the hsic pass (4 columns per block) that it is still running when killed.
SLOW_HSIC = {"input": "data/*.parquet", "passes": {"hsic": {"n_features": 256}}, "block_memory_mb": 16}


def write_demo_files(wd: Path, n_files: int = 4, column_seed: int | None = None, n_rows: int = 1000) -> None:
    """The demo table's columns (``n_rows`` rows: a third of the demo, for time) split over ``n_files``
    files; columns shuffled when ``column_seed`` is given."""
    table, _ = make_table(n_rows=n_rows)
    if column_seed is not None:
        table = table.select(list(np.random.default_rng(column_seed).permutation(table.column_names)))
    (wd / "data").mkdir()
    bounds = np.linspace(0, table.num_rows, n_files + 1).astype(int)
    for i, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:])):
        pq.write_table(table.slice(lo, hi - lo), wd / "data" / f"part-{i}.parquet")


def same_bytes(a: Path, b: Path, files: list[str]) -> None:
    for f in files:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f


def start(wd: Path, config_file: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(SNAKEMAKE), "--cores", "2", "--configfile", config_file], cwd=wd, env=snakemake_env(),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )


def write_config(wd: Path, config: dict) -> str:
    (wd / "test-config.yaml").write_text(yaml.safe_dump(config))
    return "test-config.yaml"


def test_killed_pass_resumes_to_identical_outputs_while_another_run_goes_on(tmp_path: Path) -> None:
    killed, steady = copy_workflow(tmp_path / "killed"), copy_workflow(tmp_path / "steady")
    for wd in (killed, steady):
        write_demo_files(wd)
    # Both runs at the same time, in different working directories.
    steady_run = start(steady, write_config(steady, SLOW_HSIC))
    run = start(killed, write_config(killed, SLOW_HSIC))
    log = killed / "logs" / "hsic.log"
    deadline = time.monotonic() + 240
    while not (log.exists() and "threshold" in log.read_text()):
        assert run.poll() is None, "the run ended before the hsic pass started"
        assert time.monotonic() < deadline, "the hsic pass did not start"
        time.sleep(0.2)
    time.sleep(1.0)
    assert run.poll() is None, "the hsic pass finished before it could be killed; make it slower"
    jobs = [p for p in psutil.Process(run.pid).children(recursive=True) if "dependence_pass" in " ".join(p.cmdline())]
    assert len(jobs) == 1, [p.cmdline() for p in jobs]
    jobs[0].send_signal(signal.SIGKILL)  # as the kernel's OOM killer would: no chance to clean up
    output, _ = run.communicate(timeout=120)
    assert run.returncode != 0 and "Error in rule hsic" in output
    assert not results_of(killed).stage("hsic").summary.exists()
    assert not results_of(killed).final_list.exists()

    before = {f: (killed / f).stat().st_mtime_ns for f in UPSTREAM}
    resumed = snakemake(killed, None, "--configfile", "test-config.yaml")
    assert_ok(resumed)
    out = output_of(resumed)
    assert "rule ingest:" not in out and "rule spearman:" not in out  # only the killed pass and what follows
    for rule in ("hsic", "rdc", "select", "backtrack"):
        assert f"rule {rule}:" in out
    assert {f: (killed / f).stat().st_mtime_ns for f in UPSTREAM} == before
    assert not list(results_of(killed).root.rglob("*.tmp"))  # the killed write's temporary is gone

    steady_out, _ = steady_run.communicate(timeout=600)
    assert steady_run.returncode == 0, steady_out[-3000:]
    same_bytes(killed, steady, DETERMINISTIC + [str(RUN.stage("hsic").edges), str(RUN.stage("hsic").survivors)])


def test_cores_column_order_and_file_split_do_not_change_the_result(tmp_path: Path) -> None:
    base = copy_workflow(tmp_path / "base")
    write_demo_files(base)
    config = {"input": "data/*.parquet"}
    assert_ok(snakemake(base, config))

    one_core = copy_workflow(tmp_path / "one_core")
    write_demo_files(one_core)
    assert_ok(snakemake(one_core, config, "--cores", "1"))
    same_bytes(base, one_core, DETERMINISTIC)

    reshaped = copy_workflow(tmp_path / "reshaped")
    write_demo_files(reshaped, n_files=7, column_seed=11)
    assert_ok(snakemake(reshaped, config))
    # Per-pass clusters are computed and written in name order: identical bytes.
    same_bytes(base, reshaped, [f for f in DETERMINISTIC if f.endswith(RUN.ingest.clusters.name)])
    # The final list follows the input's column order: the same names in another order.
    final_base = (base / DETERMINISTIC[0]).read_text().splitlines()
    final_reshaped = (reshaped / DETERMINISTIC[0]).read_text().splitlines()
    assert sorted(final_base) == sorted(final_reshaped) and final_base != final_reshaped
    a = json.loads((base / DETERMINISTIC[1]).read_text())
    b = json.loads((reshaped / DETERMINISTIC[1]).read_text())
    assert a["descriptors"] == b["descriptors"] and a["dropped"] == b["dropped"]


@pytest.mark.parametrize("sig", [signal.SIGFPE, signal.SIGSEGV])
def test_a_stage_killed_by_a_library_leaves_its_python_stack_in_the_log(tmp_path, sig):
    # DuckDB once died of SIGFPE in the ingest query: the job's log must say where, not end silently
    log = tmp_path / "ingest.log"
    code = ("import os, signal\nfrom descriptor_pipeline.logs import LOG, setup_logging\n"
            "from descriptor_pipeline.stage import report_crashes\n"
            f"setup_logging({str(log)!r}); report_crashes({str(log)!r}); LOG.info('scanning')\n"
            "def scan():\n    os.kill(os.getpid(), signal.Signals(" + str(int(sig)) + "))\nscan()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == -sig
    text = log.read_text()
    assert "INFO scanning" in text
    assert "Fatal Python error" in text and 'line 6 in scan' in text
