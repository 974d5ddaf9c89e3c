"""Command line: ``descriptor-pipeline backtrack``, ``explain`` and ``demo``."""

from __future__ import annotations

import argparse
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
