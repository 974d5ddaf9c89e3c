"""A run directory keeps its own input and record; the CLI passes targets through, says what a dry run
would do, and makes the report of the run that is there. Run as a user would: the installed command,
from another directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from workflow_helpers import RUN, results_of, snakemake_env

pytestmark = pytest.mark.slow

TOOL = str(Path(sys.executable).parent / "descriptor-pipeline")


def cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([TOOL, *args], cwd=cwd, env=snakemake_env(), capture_output=True, text=True, timeout=600)


def ok(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``descriptor-pipeline run --input data --directory my-run`` run from the user's home, finished."""
    home = tmp_path_factory.mktemp("home")
    ok(cli(home, "demo", "--out", "data"))
    ok(cli(home, "run", "--input", "data", "--directory", "my-run", "--cores", "2"))
    return home


def test_version() -> None:
    proc = subprocess.run([TOOL, "--version"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and proc.stdout.startswith("descriptor-pipeline ")


def test_rerun_without_input_resumes_the_recorded_input_and_another_input_is_refused(finished: Path) -> None:
    run = finished / "my-run"
    record = (run / "run-config.yaml").read_bytes()
    final = results_of(run).final_list.read_bytes()
    # The resume example of docs/installed.md, as a dry run: only the pass that changed and what follows it.
    out = ok(cli(finished, "run", "--directory", "my-run", "--config", "passes.rdc.threshold=0.85", "--", "--dry-run"))
    line = next(x for x in out.splitlines() if "dry run: would run" in x)
    assert line.endswith("would run 7 jobs: rdc, select, backtrack, reduce, alternatives, report_figures, report_benchmarks"), line
    assert "started" not in out
    assert (run / "run-config.yaml").read_bytes() == record  # a dry run keeps the record
    # Without --input it is the recorded input, not the demo: nothing to do.
    out = ok(cli(finished, "run", "--directory", "my-run", "--", "--dry-run"))
    assert "dry run: nothing to do" in out
    # Another input is refused with one line, and nothing changes.
    ok(cli(finished, "demo", "--out", "other"))
    proc = cli(finished, "run", "--directory", "my-run", "--input", "other")
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1, proc.stderr
    assert "holds the results of another input" in proc.stderr and "--force" in proc.stderr
    assert (run / "run-config.yaml").read_bytes() == record
    assert results_of(run).final_list.read_bytes() == final


def test_a_target_after_the_double_dash_rebuilds_only_that_file(finished: Path) -> None:
    run = finished / "my-run"
    report = results_of(run).cluster_report
    before = report.read_bytes()
    report.unlink()
    out = ok(cli(finished, "run", "--directory", "my-run", "--", str(RUN.cluster_report)))
    assert [x.split("started ", 1)[1] for x in out.splitlines() if " started " in x] == ["backtrack"], out
    assert report.read_bytes() == before


def test_report_of_a_run_directory_keeps_its_record(finished: Path, tmp_path: Path) -> None:
    run = finished / "my-run"
    record = (run / "run-config.yaml").read_bytes()
    out = ok(cli(tmp_path, "report", str(run), "--out", str(tmp_path / "report.html")))
    assert str(tmp_path / "report.html") in out
    page = (tmp_path / "report.html").read_text(encoding="utf-8", errors="replace")
    assert "demo_data" not in page  # the DAG of this run: its input is files, not the demo rule
    assert (run / "run-config.yaml").read_bytes() == record
    assert yaml.safe_load(record)["input"] == [str(finished / "data" / "*.parquet")]


def test_a_damaged_checkpoint_gives_the_command_that_mends_it(finished: Path) -> None:
    run = finished / "my-run"
    files = results_of(run)
    final = files.final_list.read_bytes()
    files.stage("spearman").survivors.write_text("")
    proc = cli(finished, "run", "--directory", "my-run")
    errors = [x for x in proc.stderr.splitlines() if "error" in x.lower()]
    assert proc.returncode == 1 and len(errors) == 1 and errors[0].startswith("descriptor-pipeline: error: "), proc.stderr
    advice = "descriptor-pipeline run --directory my-run -- --forcerun spearman"
    assert f"{RUN.stage('spearman').survivors}: damaged or replaced" in proc.stderr and advice in proc.stderr, proc.stderr
    assert files.final_list.read_bytes() == final
    ok(cli(finished, *advice.split()[1:]))
    assert files.final_list.read_bytes() == final


def wait_for_stability(proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 300
    while not (log.exists() and "stability: seed" in log.read_text()):
        assert proc.poll() is None, "the run ended before the stability job started"
        assert time.monotonic() < deadline, "the stability job did not start"
        time.sleep(0.2)
    time.sleep(1.0)
    assert proc.poll() is None, "the stability job finished before it could be interrupted; give it more seeds"


def test_ctrl_c_says_how_to_resume_and_a_killed_run_leaves_a_lock_the_cli_explains(tmp_path: Path) -> None:
    ok(cli(tmp_path, "demo", "--out", "data"))
    slow = ["--config", "stability_seeds=[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]"]  # a job that runs long enough to stop
    args = [TOOL, "run", "--input", "data", "--directory", "run", "--cores", "2", *slow]
    log = tmp_path / "run/logs/stability.log"

    def start() -> subprocess.Popen:
        return subprocess.Popen(args, cwd=tmp_path, env=snakemake_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)

    # Ctrl-C in a terminal: SIGINT to the whole process group.
    proc = start()
    wait_for_stability(proc, log)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and err.strip().splitlines()[-1] == (
        "descriptor-pipeline: interrupted; finished stages are kept: run the same command again to resume")
    assert not results_of(tmp_path / "run").stability.exists()

    # A run killed outright (SIGKILL to everything) leaves Snakemake's lock behind.
    log.unlink()
    proc = start()
    wait_for_stability(proc, log)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=60)
    locked = cli(tmp_path, *args[1:])
    assert locked.returncode == 1, locked.stderr
    line = locked.stderr.strip().splitlines()[-1]
    assert line == ("descriptor-pipeline: error: run: the run directory is locked by another run, or by one that was "
                    "killed; when none is running there, remove the lock with: descriptor-pipeline run --directory run "
                    "-- --unlock"), line
    ok(cli(tmp_path, "run", "--directory", "run", "--", "--unlock"))
    out = ok(cli(tmp_path, *args[1:]))  # resumed: the job that did not finish, not ingest or the passes
    assert " started stability" in out and " started ingest" not in out and " started hsic" not in out
    assert results_of(tmp_path / "run").stability.is_file()
