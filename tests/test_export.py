"""The run's alternatives table (``Results.alternatives``) from the cluster report (export.py)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from descriptor_pipeline.export import COLUMNS, write_alternatives_tsv
from descriptor_pipeline.layout import Results


def report() -> dict:
    """A survivor A standing for B (rdc) and C (spearman into B, then B into A), and a lone survivor."""
    return {
        "descriptors": {
            "lone": {"alternative_descriptors": [], "lineage": {}, "predictability": {}},
            "A": {
                "alternative_descriptors": ["B", "C\twith tab"],
                "lineage": {
                    "B": [{"pass": "rdc", "represented_by": "A", "similarity": 0.93, "predictability": 0.8}],
                    "C\twith tab": [
                        {"pass": "spearman", "represented_by": "B", "similarity": 0.99, "predictability": 0.97},
                        {"pass": "rdc", "represented_by": "A", "similarity": 0.93, "predictability": 0.8},
                    ],
                },
                "predictability": {"B": 0.8, "C\twith tab": 0.75},
            },
        }
    }


def test_alternatives_tsv(tmp_path: Path) -> None:
    run = Results(tmp_path)
    run.cluster_report.write_text(json.dumps(report()))
    run.final_list.write_text("A\nlone\n")
    n = write_alternatives_tsv(run.cluster_report, run.final_list, run.alternatives)
    assert n == 2
    with open(run.alternatives, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter="\t"))
    assert rows[0] == list(COLUMNS)
    assert rows[1] == ["A", "B", "rdc", "", "0.93", "0.93", "0.8", "0.8"]
    assert rows[2] == ["A", "C\\twith tab", "spearman>rdc", "B", "0.99;0.93", "0.93", "0.97;0.8", "0.75"]  # tab escaped
    assert float(rows[2][5]) == min(map(float, rows[2][4].split(";")))
