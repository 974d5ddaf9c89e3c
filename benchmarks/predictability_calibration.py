"""Calibration of passes.P.min_predictability on planted relationships and on the real tables in tests/data.

For each table (RDKit 2D, Mordred, PaDEL) the workflow runs twice at seed 42: with min_predictability 0 (every
link a merge, the behaviour before the rule) and at the default. It prints
- the predictability of every merge step at 0, per pass (quantiles), and the weakest stand-ins;
- the merges the default refuses, with names, similarity and both figures;
- whether the chemistry-known groups are still merged (MolWt / ExactMolWt / HeavyAtomMolWt; the size
  family under one survivor);
- the final set's Jaccard index across 5 seeds at the default, and the descriptors whose fate flips.
Planted figures first (n = 5,000, x uniform on [-1, 1]).

    python benchmarks/predictability_calibration.py            # about 4 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import itertools
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl

from descriptor_pipeline.predictability import predictability

HERE = Path(__file__).resolve().parent
TABLES = {"rdkit": HERE.parent / "tests/data/rdkit_descriptors.parquet",
          "mordred": HERE.parent / "tests/data/mordred_descriptors.parquet",
          "padel": HERE.parent / "tests/data/padel_descriptors.parquet"}
PASSES = ("spearman", "hsic", "rdc")
GROUPS = {"rdkit": [["MolWt", "ExactMolWt", "HeavyAtomMolWt"], ["LabuteASA", "HeavyAtomCount", "MolMR", "Chi0"]],
          "mordred": [["MW", "nHeavyAtom", "LabuteASA"]],
          "padel": [["MW", "nHeavyAtom"]]}
SEEDS = (42, 1, 2, 3, 4)


def planted() -> None:
    rng = np.random.default_rng(0)
    n = 5000
    x = rng.uniform(-1, 1, n)

    def count(rows: np.ndarray) -> np.ndarray:
        c = np.zeros(n)
        c[rows] = rng.integers(1, 4, rows.sum())
        return c

    shared = rng.random(n) < 0.1
    cases = {
        "x^3 (monotone)": (x ** 3, x), "exp(3x) (monotone)": (np.exp(3 * x), x),
        "sin(pi x)": (np.sin(np.pi * x), x), "x^2 (one way)": (x ** 2, x), "round(4x) (5 values)": (np.round(4 * x), x),
        "x + noise sd 0.5": (x + rng.normal(scale=0.5, size=n), x),
        "independent normals": (rng.normal(size=n), rng.normal(size=n)),
        "counts non-zero on unrelated 10 %": (count(rng.random(n) < 0.1), count(rng.random(n) < 0.1)),
        "counts non-zero on the same 10 %": (count(shared), count(shared)),
    }
    print("| planted pair (a, b) | a from b | b from a |\n|---|---|---|")
    for name, (a, b) in cases.items():
        print(f"| {name} | {predictability(a, b):.3f} | {predictability(b, a):.3f} |")


def run(table: str, out: Path, seed: int, minimum: float | None) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    config = [f"input={TABLES[table]}", "exclude_columns=[mol_id,smiles,row_id]", f"seed={seed}", "reduced=false"]
    if minimum is not None:
        config += [f"passes.{p}.min_predictability={minimum}" for p in PASSES]
    tool = Path(sys.executable).with_name("descriptor-pipeline")
    proc = subprocess.run([str(tool), "run", "--cores", "2", "--config", *config], cwd=out, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"{table} seed {seed}: the run failed:\n{proc.stderr[-3000:]}")
    return out / "results"


def steps(results: Path) -> pl.DataFrame:
    frames = []
    for p in PASSES:
        c = pl.read_parquet(results / p / "clusters.parquet").filter(~pl.col("is_representative"))
        e = pl.read_parquet(results / p / "edges.parquet")
        back = pl.concat([e.select(descriptor="descriptor_a", representative="descriptor_b", reverse="b_from_a"),
                          e.select(descriptor="descriptor_b", representative="descriptor_a", reverse="a_from_b")])
        frames.append(c.join(back, on=["descriptor", "representative"]).select(
            pl.lit(p).alias("pass"), "descriptor", "representative", "similarity", "predictability", "reverse"))
    return pl.concat(frames)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=HERE / "data" / "calibration")
    parser.add_argument("--tables", default=",".join(TABLES), help="comma-separated, of: " + ", ".join(TABLES))
    args = parser.parse_args()
    tables = [t for t in args.tables.split(",") if t]
    unknown = sorted(set(tables) - set(TABLES))
    if unknown:
        parser.error(f"--tables: unknown {unknown}; choose from {sorted(TABLES)}")
    planted()
    summary = {}
    for table in tables:
        at_zero = run(table, args.work / f"{table}-min0", 42, 0.0)
        default = run(table, args.work / f"{table}-default", 42, None)
        minimum = json.loads((default / "rdc" / "summary.json").read_text())["min_predictability"]
        merged = steps(at_zero)
        print(f"\n## {table}: merge steps at min_predictability 0, figure of the alternative from its representative")
        print("| pass | merges | min | 5 % | 25 % | median |\n|---|---|---|---|---|---|")
        for p in PASSES:
            f = merged.filter(pl.col("pass") == p)["predictability"]
            if len(f):
                print(f"| {p} | {len(f)} | " + " | ".join(f"{f.quantile(q, 'lower'):.3f}" for q in (0, 0.05, 0.25, 0.5)) + " |")
        refused = merged.filter(pl.min_horizontal("predictability", "reverse") < minimum).sort("predictability")
        print(f"\nrefused at the default {minimum}: {refused.height} of {merged.height} merges")
        print("| pass | alternative <- representative | similarity | alternative from rep | rep from alternative |\n|---|---|---|---|---|")
        for r in refused.iter_rows(named=True):
            print(f"| {r['pass']} | {r['descriptor']} <- {r['representative']} | {r['similarity']:.3f} | "
                  f"{r['predictability']:.3f} | {r['reverse']:.3f} |")
        report = json.loads((default / "surviving_descriptors_clusters.json").read_text())
        owner = {m: s for s, e in report["descriptors"].items() for m in e["all_cluster_members"]}
        for group in GROUPS[table]:
            owners = {owner.get(g, "dropped") for g in group}
            print(f"group {group}: {'one survivor, ' + owners.pop() if len(owners) == 1 else 'split: ' + str(sorted(owners))}")
        finals = [set((run(table, args.work / f"{table}-seed{s}", s, None) if s != 42 else default)
                      .joinpath("final_descriptors.txt").read_text().split()) for s in SEEDS]
        jaccard = [len(a & b) / len(a | b) for a, b in itertools.combinations(finals, 2)]
        flips = sorted(set.union(*finals) - set.intersection(*finals))
        n0 = len((at_zero / "final_descriptors.txt").read_text().split())
        print(f"final: {len(finals[0])} at the default, {n0} at 0; Jaccard over {len(SEEDS)} seeds: min {min(jaccard):.3f}, "
              f"mean {np.mean(jaccard):.3f}; {len(flips)} descriptors flip: {', '.join(flips[:30])}")
        summary[table] = {"refused": refused.height, "merges_at_0": merged.height, "final": len(finals[0]), "final_at_0": n0,
                          "jaccard_min": min(jaccard), "jaccard_mean": float(np.mean(jaccard)), "flips": flips}
    (args.work / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")  # the tables of this run


if __name__ == "__main__":
    main()
