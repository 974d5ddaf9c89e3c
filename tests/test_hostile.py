"""Hostile but ordinary use: every case is carried out exactly or refused in one line, and no command
deletes or overwrites a file it did not write (docs/hostile-inputs.md lists the cases)."""

from __future__ import annotations

import pytest

from descriptor_pipeline.api import DescriptorPipeline, PipelineConfig
from descriptor_pipeline.cli import main
from descriptor_pipeline.errors import PipelineError


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("descriptor-pipeline: error: ") and "\n" not in err, err
    return err


# ---- no command overwrites what it did not write ---------------------------------------------------


def test_backtrack_out_refuses_a_file_it_did_not_write(tmp_path, capsys) -> None:
    mine = tmp_path / "notes.json"
    mine.write_text('{"my": "notes"}')
    assert main(["backtrack", "--results", str(tmp_path / "results"), "--out", str(mine)]) == 1
    assert "backtrack --out" in one_line_error(capsys) and mine.read_text() == '{"my": "notes"}'


@pytest.mark.parametrize("name", ["report.html", "report.zip"])
def test_report_out_refuses_a_file_it_did_not_write(tmp_path, name: str) -> None:
    mine = tmp_path / name
    mine.write_bytes(b"<html><title>my page</title></html>" if name.endswith("html") else b"PK\x05\x06" + bytes(18))
    with pytest.raises(PipelineError, match=r"report --out .*: a file descriptor-pipeline did not write is there"):
        DescriptorPipeline(PipelineConfig(output_dir=tmp_path)).report(mine)
    assert mine.read_bytes().startswith((b"<html><title>my page", b"PK\x05\x06"))


def test_demo_out_writes_again_over_its_own_files_but_not_over_others(tmp_path, capsys) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out)]) == 0
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    assert main(["demo", "--out", str(out)]) == 0  # its own files: the same bytes again
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first
    capsys.readouterr()
    (out / "part-002.parquet").write_bytes(b"a user's table")
    assert main(["demo", "--out", str(out)]) == 1
    assert "part-002.parquet: a file descriptor-pipeline did not write" in one_line_error(capsys)
    assert (out / "part-002.parquet").read_bytes() == b"a user's table"
    assert (out / "part-001.parquet").read_bytes() == first["part-001.parquet"]
