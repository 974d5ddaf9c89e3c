"""``descriptor-pipeline explain NAME``: one paragraph on what a run did with one input column.

Read from a finished run's cluster report (``surviving_descriptors_clusters.json``) and its ingest
outputs: kept (and what it stands for), dropped at ingest (the reason and the figure against its
setting), or removed as redundant (the survivor that stands for it, through which passes, with each
step's similarity against the pass threshold).
"""

from __future__ import annotations

import difflib
import unicodedata
from pathlib import Path

import pyarrow.parquet as pq

from descriptor_pipeline import checkpoints, io
from descriptor_pipeline.errors import PipelineError, visible
from descriptor_pipeline.known import KNOWN, known_rank
from descriptor_pipeline.layout import Results
from descriptor_pipeline.passes import MEASURES as PASS_KINDS

MEASURES = {"ingest": "an exact duplicate", **{name: kind.label for name, kind in PASS_KINDS.items()}}
SHOWN = 5  # alternatives named in a survivor's paragraph


def _step(step: dict, thresholds: dict, name: str) -> str:
    if step["pass"] == "ingest":
        return f"ingest found {name!r} equal in every row to {step['represented_by']!r}"
    threshold = thresholds.get(step["pass"])
    against = f" (threshold {threshold:g})" if threshold is not None else ""
    return (f"the {step['pass']} pass merged {name!r} into {step['represented_by']!r} at "
            f"{MEASURES[step['pass']]} {step['similarity']:.3f}{against}")


def _dropped(name: str, entry: dict, row: dict, ingest: dict) -> str:
    reason, figure, settings = entry["reason"], entry["figure"], ingest.get("settings", {})
    as_text = ("; its values are numbers stored as text: write it as a numeric column to have it treated as one"
               if name in ingest.get("numbers_as_text", ()) else "")
    why = {
        "excluded": "it matches 'exclude_columns', so it was never treated as a descriptor",
        "non_numeric": f"it is not numeric (type {row.get('dtype')}), so it is no descriptor{as_text}",
        "all_missing": "every one of its values is missing (null, NaN or +-inf)",
        "missing_ratio": (f"{figure:.1%} of its values are missing, more than 'ingest.max_missing_ratio' "
                          f"{settings.get('max_missing_ratio')}" if figure is not None else "too many values are missing"),
        "constant": (f"it is constant: every present value is {figure:g}" if figure is not None else "it is constant"),
        "beyond_float64": (f"it holds integers past 2^53 (up to {figure:.4g} in magnitude), which float64 cannot tell "
                           "apart: an id, a hash or packed bits rather than a quantity the passes could compare"
                           if figure is not None else "it holds integers past 2^53, which float64 cannot tell apart"),
        "near_constant": (f"it is near-constant: only {figure:.0f} of the {ingest.get('sample_rows', 0):,} sampled rows "
                          f"{'differs' if figure == 1 else 'differ'} "
                          f"from its most frequent value {row.get('mode'):g}, fewer than 'ingest.min_off_mode_rows' "
                          f"{settings.get('min_off_mode_rows')} (lower it, or raise 'sample_rows', to keep rare flags)"
                          if figure is not None and row.get("mode") is not None else "it is near-constant"),
    }[reason]
    return f"{name!r} was dropped at ingest: {why}. It is in no cluster and in no later pass."


def _refused(results: Path, name: str, passes_run: list[str]) -> str:
    """The sentence on ``name``'s links that were not merges (a figure under the pass's
    min_predictability), strongest first, in the passes of this run; empty when it has none."""
    links = []
    for p in MEASURES:
        path = Results(results).stage(p).edges
        if p not in passes_run or not path.exists():
            continue
        checkpoints.verify(path)
        minimum = io.read_json(Results(results).stage(p).summary).get("min_predictability", 0.0)
        for r in pq.read_table(path, filters=[("is_merge", "=", False)]).to_pylist():
            if name == r["descriptor_a"]:
                links.append((-r["similarity"], p, r["descriptor_b"], r["a_from_b"], r["b_from_a"], minimum))
            elif name == r["descriptor_b"]:
                links.append((-r["similarity"], p, r["descriptor_a"], r["b_from_a"], r["a_from_b"], minimum))
    if not links:
        return ""
    links.sort()
    named = "; ".join(f"{other!r} ({p}, {MEASURES[p]} {-s:.3f}; {other!r} predicts it at {own:.3f}, it predicts "
                      f"{other!r} at {back:.3f}, 'min_predictability' {minimum:g})"
                      for s, p, other, own, back, minimum in links[:SHOWN])
    more = f"; and {len(links) - SHOWN} more" if len(links) > SHOWN else ""
    one = len(links) == 1
    return (f" It has {len(links)} link{'' if one else 's'} at or above a threshold that {'is' if one else 'are'} "
            f"not {'a merge' if one else 'merges'}, as one of the two does not predict the other well enough, so "
            f"{'both stay' if one else 'they stay apart'}: {named}{more} (edges.parquet).")


MANY = 20  # alternatives from which explain says how to have another descriptor stand for them


def _another(name: str, entry: dict) -> str:
    """For a survivor standing for many descriptors: how to have another of them stand for the cluster,
    naming the best-known member when one is of known.KNOWN and not the survivor itself."""
    if entry["total_alternatives"] < MANY:
        return ""
    members = sorted((m for m in entry["all_cluster_members"] if m != name), key=lambda m: (known_rank(m), m))
    pick = members[0] if members and known_rank(members[0]) < len(KNOWN) else None
    example = (f"e.g. 'prefer: [{pick}]' for {pick!r}, the best-known of them" if pick
               else "e.g. 'prefer: [NAME]' with one of them")
    return (f" {name!r} stands for many descriptors; to have another of them represent the cluster, name it "
            f"in 'prefer' ({example}) and run again.")


def explain(name: str, results: str | Path = "results") -> str:
    """The paragraph for input column ``name`` of the run in ``results``."""
    results = Path(results)
    files = Results(results)
    report = io.read_json(files.cluster_report)
    thresholds = report["metadata"]["thresholds"]
    if name in report["descriptors"]:
        entry = report["descriptors"][name]
        n = entry["total_alternatives"]
        text = (f"{name!r} is kept: it is one of the {report['metadata']['total_descriptors']} final descriptors "
                "(final_descriptors.txt).")
        refused = _refused(results, name, report["metadata"]["passes_run"])
        if n == 0:
            return text + " It stands for no other descriptor." + refused
        lowest = {a: min(s["similarity"] for s in steps) for a, steps in entry["lineage"].items()}
        strongest = sorted(lowest, key=lambda a: (-lowest[a], a))
        named = ", ".join(f"{a!r} ({' > '.join(s['pass'] for s in entry['lineage'][a])}, lowest step "
                          f"{lowest[a]:.3f})" for a in strongest[:SHOWN])
        more = f", and {n - SHOWN} more" if n > SHOWN else ""
        return text + f" It stands for {n} other descriptor{'s' if n > 1 else ''}: {named}{more}." + refused + _another(name, entry)
    for survivor, entry in report["descriptors"].items():
        steps = entry["lineage"].get(name)
        if steps is None:
            continue
        chain = [_step(steps[0], thresholds, name)]
        chain += [_step(s, thresholds, prev["represented_by"]) for prev, s in zip(steps, steps[1:])]
        return (f"{name!r} was removed as redundant: " + "; then ".join(chain) + f". {survivor!r} stands for it "
                "in final_descriptors.txt (alternatives.tsv lists the pair).")
    if name in report["dropped"]:
        stats = pq.read_table(files.ingest.column_stats, columns=["column", "dtype", "mode"]).to_pylist()
        row = next((r for r in stats if r["column"] == name), {})
        return _dropped(name, report["dropped"][name], row, io.read_json(files.ingest.summary))
    known = [*report["descriptors"], *report["dropped"],
             *(a for e in report["descriptors"].values() for a in e["alternative_descriptors"])]
    folded = unicodedata.normalize("NFKC", name).casefold()
    similar = sorted(k for k in known if unicodedata.normalize("NFKC", k).casefold() == folded)
    similar += [k for k in difflib.get_close_matches(name, known, n=3) if k not in similar]
    hint = f"; did you mean {' or '.join(visible(k) for k in similar[:3])}?" if similar else "; names are matched exactly"
    raise PipelineError(f"{results}: no input column {visible(name)} in this run{hint}")
