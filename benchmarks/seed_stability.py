"""How much the final set depends on the seed, on the real tables in tests/data: ingest once (these
tables are smaller than the row sample, so every seed sees every row), then the enabled passes under
seeds 42, 1, 2, 3 and 4; the Jaccard index of every pair of final sets, the smallest printed, for the
Spearman pass alone and for the default chain. With ``--subsets``, also how much it depends on the rows:
the default chain (seed 42) on two 80 % row subsets of each table (drawn with seeds 0 and 1), and the
Jaccard index of their final sets.

    python benchmarks/seed_stability.py [--tables rdkit,mordred,padel] [--chains spearman,default] [--subsets]
        [--set '{"passes": {"rdc": {"k": 40}}}']   # settings over every chain's, as a JSON object
"""

from __future__ import annotations

import argparse
import json
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from descriptor_pipeline.chain import ingest_into, run_chain
from descriptor_pipeline.config import deep_merge
from descriptor_pipeline.layout import Results
from descriptor_pipeline.settings import complete
from descriptor_pipeline.stability import jaccard, rerun_final

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SEEDS = (42, 1, 2, 3, 4)
CHAINS = {
    "spearman": {"passes": {"hsic": {"enabled": False}, "rdc": {"enabled": False}}},
    "default": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tables", default="rdkit,mordred,padel")
    parser.add_argument("--chains", default="spearman,default")
    parser.add_argument("--set", default="{}", help="settings over every chain's, as a JSON object")
    parser.add_argument("--subsets", action="store_true", help="also the Jaccard index of two 80 %% row subsets")
    args = parser.parse_args()
    extra = json.loads(args.set)
    print("| table | chain | final sizes (seeds 42, 1, 2, 3, 4) | Jaccard min | Jaccard mean | seconds |")
    print("|---|---|---|---|---|---|")
    for table in args.tables.split(","):
        path = DATA / f"{table}_descriptors.parquet"
        with tempfile.TemporaryDirectory() as tmp:
            base = complete({"input": [str(path)], "exclude_columns": ["mol_id", "smiles"]})
            results = Results(Path(tmp) / "run")
            ingest_into(base, [str(path)], results)
            assert pq.read_metadata(path).num_rows <= base["sample_rows"]
            for chain in args.chains.split(","):
                config = complete(deep_merge(deep_merge(base, CHAINS[chain]), extra))
                t0 = time.perf_counter()
                finals = {s: set(rerun_final(config, s, str(results.ingest.sample), str(results.ingest.column_stats),
                                             str(results.ingest.survivors), Path(tmp) / f"{chain}-{s}"))
                          for s in SEEDS}
                values = [jaccard(finals[a], finals[b]) for a, b in itertools.combinations(SEEDS, 2)]
                print(f"| {table} | {chain} | {', '.join(str(len(finals[s])) for s in SEEDS)} | {min(values):.3f} | "
                      f"{sum(values) / len(values):.3f} | {time.perf_counter() - t0:.0f} |", flush=True)
    if args.subsets:
        subsets(args.tables.split(","), extra)


def subsets(tables: list[str], extra: dict) -> None:
    print("\n| table | final sizes (80 % subsets drawn with seeds 0, 1) | Jaccard |\n|---|---|---|")
    for table in tables:
        whole = pq.read_table(DATA / f"{table}_descriptors.parquet")
        finals = []
        with tempfile.TemporaryDirectory() as tmp:
            for draw in (0, 1):
                rows = np.sort(np.random.default_rng(draw).choice(whole.num_rows, int(0.8 * whole.num_rows), replace=False))
                path = str(Path(tmp) / f"subset{draw}.parquet")
                pq.write_table(whole.take(rows), path)
                config = complete(deep_merge({"input": [path], "exclude_columns": ["mol_id", "smiles"]}, extra))
                finals.append(set(run_chain(config, [path], Results(Path(tmp) / f"run{draw}"))["descriptors"]))
        print(f"| {table} | {len(finals[0])}, {len(finals[1])} | {jaccard(*finals):.3f} |", flush=True)


if __name__ == "__main__":
    main()
