"""Command line: ``descriptor-pipeline backtrack``, ``explain``, ``apply`` and ``demo``."""

from __future__ import annotations

import argparse
import os
import sys

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.logs import setup_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="descriptor-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    bt = sub.add_parser("backtrack", help="write surviving_descriptors_clusters.json from an existing results directory")
    bt.add_argument("--results", default="results", help="results directory of a finished run (default: results)")
    bt.add_argument("--out", default=None, help="output file (default: RESULTS/surviving_descriptors_clusters.json)")
    ex = sub.add_parser("explain", help="say in one paragraph what a finished run did with one input column")
    ex.add_argument("name", help="the column's name, exactly as in the input files")
    ex.add_argument("--results", default="results", help="results directory of a finished run (default: results)")
    ap = sub.add_parser("apply", help="cut a finished run's final descriptors out of new Parquet files")
    ap.add_argument("inputs", nargs="+", metavar="DIR_OR_GLOB", help="Parquet files: folders, globs or paths")
    ap.add_argument("--selection", default="results",
                    help="results directory of a finished run, or its final_descriptors.txt (default: results)")
    ap.add_argument("--out", required=True, help="folder for the reduced files (same relative paths as the inputs)")
    ap.add_argument("--carry", action="append", default=[], metavar="COLUMN",
                    help="a column to copy in front of the descriptors (ids, SMILES); repeat for more")
    demo = sub.add_parser("demo", help="write the embedded demo data set")
    demo.add_argument("--out", default="results/demo", help="output directory (default: results/demo)")
    args = parser.parse_args(argv)
    setup_logging(None)
    try:
        if args.command == "backtrack":
            from descriptor_pipeline.lineage import create_cluster_structure

            create_cluster_structure(args.results, out=args.out)
        elif args.command == "explain":
            from descriptor_pipeline.explain import explain

            print(explain(args.name, args.results))
        elif args.command == "apply":
            from descriptor_pipeline.inputs import expand_inputs
            from descriptor_pipeline.reduce import apply_selection

            patterns = [os.path.join(p, "*.parquet") if os.path.isdir(p) else p for p in args.inputs]
            for path in apply_selection(args.selection, expand_inputs(patterns), args.out, args.carry):
                print(path)
        elif args.command == "demo":
            from descriptor_pipeline.demo import write_demo

            for path in write_demo(args.out):
                print(path)
    except PipelineError as exc:
        print(f"descriptor-pipeline: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
