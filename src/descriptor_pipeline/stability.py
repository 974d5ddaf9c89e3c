"""How much the final set depends on the seed: the dependence passes rerun with other seeds.

Each seed of ``stability_seeds`` replaces the config seed (and with it the random features of HSIC and
RDC and the row subsample of a pass with ``max_rows``; Leiden's consensus takes no seed) and reruns the enabled passes on
the same row sample and ingest survivors as the run, in a temporary folder next to the output. The row
sample itself is drawn once at ingest: on a table with more rows than ``sample_rows``, a whole run with
another ``seed`` varies it too.

``results/stability.json`` then holds every run's final set size, the Jaccard index
|A & B| / |A | B| of every pair of final sets, and each descriptor that is final in some runs but not
in all (a decision that flips with the seed): in how many runs it is final, and in this run either
``"final"`` or the survivor that stands for it.
"""

from __future__ import annotations

import copy
import itertools
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from descriptor_pipeline import io
from descriptor_pipeline.chain import passes_into
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.layout import Results, StageFiles
from descriptor_pipeline.logs import LOG


def rerun_final(config: Mapping[str, Any], seed: int, sample_path: str, column_stats: str, ingest_survivors: str,
                work_dir: str | Path, threads: int = 1) -> list[str]:
    """The final set of the enabled passes run with ``seed`` (their checkpoints go under ``work_dir``)."""
    settings = copy.deepcopy(dict(config))
    settings["seed"] = int(seed)
    ingest = StageFiles(Path(ingest_survivors).parent)
    if (ingest.sample, ingest.column_stats) != (Path(sample_path), Path(column_stats)):
        raise PipelineError(f"{sample_path}, {column_stats}: not the files of the ingest folder {ingest.folder}")
    return io.read_lines(passes_into(settings, Results(Path(work_dir)), ingest, threads))


def compare_finals(finals: Mapping[int, Sequence[str]], this_seed: int, stands_for: Mapping[str, str]) -> dict:
    """Jaccard indices and flipping descriptors of the final sets of several seeds (``this_seed`` is the run's)."""
    seeds = list(finals)
    sets = {s: set(finals[s]) for s in seeds}
    pairs = [{"seeds": [a, b], "jaccard": jaccard(sets[a], sets[b])} for a, b in itertools.combinations(seeds, 2)]
    everywhere = set.intersection(*sets.values())
    anywhere = set.union(*sets.values())
    final_here = sets[this_seed]
    flips = [
        {"descriptor": d, "final_in": sum(d in s for s in sets.values()),
         "in_this_run": "final" if d in final_here else stands_for.get(d, "dropped")}
        for d in anywhere - everywhere
    ]
    flips.sort(key=lambda f: (-f["final_in"], f["descriptor"]))
    values = [p["jaccard"] for p in pairs]
    return {
        "seeds": seeds,
        "final_sizes": [len(sets[s]) for s in seeds],
        "jaccard_min": min(values) if values else 1.0,
        "jaccard_mean": sum(values) / len(values) if values else 1.0,
        "jaccard": pairs,
        "final_in_every_run": len(everywhere),
        "flips": flips,
    }


def jaccard(a: set, b: set) -> float:
    """|a & b| / |a | b|; 1 for two empty sets."""
    union = len(a | b)
    return len(a & b) / union if union else 1.0


def run_stability(config: Mapping[str, Any], sample_path: str, column_stats: str, ingest_survivors: str,
                  final_list: str, cluster_report: str, out_json: str, threads: int = 1) -> dict:
    """Rerun the passes with each of ``config["stability_seeds"]`` and write ``out_json``."""
    this_seed = int(config["seed"])
    finals: dict[int, list[str]] = {this_seed: io.read_lines(final_list)}
    others = list(dict.fromkeys(int(s) for s in config["stability_seeds"] if int(s) != this_seed))
    out = Path(out_json)
    out.parent.mkdir(parents=True, exist_ok=True)
    for k, seed in enumerate(others, start=1):
        LOG.info("stability: seed %d (%d of %d)", seed, k, len(others))
        with tempfile.TemporaryDirectory(prefix=".stability-", dir=out.parent) as work:
            finals[seed] = rerun_final(config, seed, sample_path, column_stats, ingest_survivors, work, threads)
    report = io.read_json(cluster_report)
    stands_for = {m: s for s, entry in report["descriptors"].items() for m in entry["all_cluster_members"] if m != s}
    result = compare_finals(finals, this_seed, stands_for)
    io.write_json(out_json, result)
    LOG.info("stability: %d seeds, Jaccard min %.3f mean %.3f; %d descriptors flip",
             len(finals), result["jaccard_min"], result["jaccard_mean"], len(result["flips"]))
    return result
