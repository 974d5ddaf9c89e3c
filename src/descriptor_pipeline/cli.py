"""Command line: ``descriptor-pipeline run``, ``init``, ``explain``, ``apply``, ``backtrack`` and ``demo``.

``run`` starts the Snakemake workflow installed with the package (the same one as ``snakemake`` in a
checkout) in the current directory or ``--directory``; ``init`` writes a commented config.yaml (and the
Slurm profile) to edit first.
"""

from __future__ import annotations

import argparse
import os
import sys

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.logs import setup_logging


DESCRIPTION = """\
Cut a table of many descriptors down to the ones that carry distinct information: ingest, then a
Spearman, an HSIC and an RDC pass, then the final selection and the cluster report.

  descriptor-pipeline run --directory demo-run       the embedded demo
  descriptor-pipeline init my-run                    a commented my-run/config.yaml to edit
  descriptor-pipeline run --directory my-run --configfile my-run/config.yaml --input data/
                                                     your Parquet files (ids and SMILES are kept)
  descriptor-pipeline explain NAME --results my-run/results
                                                     what the run did with one column

"run" starts the Snakemake workflow installed with the package (the same one as "snakemake" in a
checkout); "descriptor-pipeline COMMAND --help" says more about each command.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="descriptor-pipeline", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the workflow (results/, logs/ in --directory)",
                         description="Run (or resume) the workflow; anything after -- goes to snakemake as it is, "
                                     "e.g. -- --dry-run, -- --forcerun hsic or a target such as "
                                     "-- results/surviving_descriptors_clusters.json. In a directory that holds a run, "
                                     "its recorded configuration (run-config.yaml) is reused and changed by --config "
                                     "and --configfile.")
    run.add_argument("--input", action="append", default=None, metavar="GLOB",
                     help="Parquet input: a glob, folder or path (repeat for more); default: the config's input, "
                          "which without a config file is the embedded demo data")
    run.add_argument("--configfile", action="append", default=[], metavar="FILE",
                     help="a config file in the format of `descriptor-pipeline init` (repeat: later ones override)")
    run.add_argument("--config", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                     help="override config keys; VALUE is YAML and KEY may be dotted, e.g. seed=7 "
                          "passes.hsic.threshold=0.85 'passes={rdc: {enabled: false}}'")
    run.add_argument("--cores", type=_positive, default=os.cpu_count() or 1, help="cores to use (default: all)")
    run.add_argument("--resources", nargs="+", action="extend", default=[], metavar="NAME=INT",
                     help="resources as in snakemake, e.g. gpu=1 with --config backend=cupy")
    run.add_argument("--profile", default=None, metavar="NAME_OR_DIR",
                     help="a Snakemake profile: a folder, or a name looked up in DIRECTORY/profiles/ and then among "
                          "the profiles installed with the package (slurm; edit its SITE lines after init)")
    run.add_argument("--directory", default=".", metavar="DIR",
                     help="the run directory, where results/ and logs/ go (default: the current directory)")
    run.add_argument("--force", action="store_true",
                     help="run another --input than the one the directory's results were made with, replacing them")
    run.add_argument("-v", "--verbose", action="store_true", help="print Snakemake's whole output, not only progress")
    run.add_argument("snakemake_args", nargs="*", metavar="-- SNAKEMAKE_ARGS", help=argparse.SUPPRESS)
    init = sub.add_parser("init", help="write a commented config.yaml and the Slurm profile into a run directory")
    init.add_argument("directory", metavar="DIR", help="the run directory (created when missing)")
    init.add_argument("--force", action="store_true", help="overwrite files that are already there")
    bt = sub.add_parser("backtrack", help="write surviving_descriptors_clusters.json from an existing results directory")
    bt.add_argument("--results", default="results", help="results directory of a finished run (default: results)")
    bt.add_argument("--out", default=None, help="output file (default: RESULTS/surviving_descriptors_clusters.json)")
    ex = sub.add_parser("explain", help="say in one paragraph what a finished run did with one input column")
    ex.add_argument("name", help="the column's name, exactly as in the input files (a name that starts with '-' "
                                 "goes after --: explain -- --name)")
    ex.add_argument("--results", default="results", help="results directory of a finished run (default: results)")
    ap = sub.add_parser("apply", help="cut a finished run's final descriptors out of new Parquet files")
    ap.add_argument("inputs", nargs="+", metavar="DIR_OR_GLOB", help="Parquet files: folders, globs or paths")
    ap.add_argument("--selection", default="results",
                    help="results directory of a finished run, or its final_descriptors.txt (default: results)")
    ap.add_argument("--out", required=True, help="folder for the reduced files (same relative paths as the inputs)")
    ap.add_argument("--carry", action="append", default=None, metavar="COLUMN",
                    help="a column to copy in front of the descriptors (ids, SMILES); repeat for more (default: "
                         "the columns the run carries, every column that is no descriptor)")
    ap.add_argument("--no-carry", action="store_true", help="copy no column but the final descriptors")
    rep = sub.add_parser("report", help="write Snakemake's HTML report of a finished run")
    rep.add_argument("directory", nargs="?", default=".", metavar="DIR", help="the run directory (default: .)")
    rep.add_argument("--out", default=None, help="the report file, .html or .zip (default: DIR/report.html)")
    demo = sub.add_parser("demo", help="write the embedded demo data set")
    demo.add_argument("--out", default="results/demo", help="output directory (default: results/demo)")
    args = parser.parse_args(argv)
    setup_logging(None)
    try:
        if args.command == "run":
            from descriptor_pipeline.run import run_workflow

            for path in run_workflow(
                inputs=args.input, configfiles=args.configfile, overrides=args.config, cores=args.cores,
                resources=args.resources, profile=args.profile, directory=args.directory, verbose=args.verbose,
                snakemake_args=args.snakemake_args, force=args.force,
            ):
                print(path)
        elif args.command == "report":
            from descriptor_pipeline.run import report_directory

            print(report_directory(args.directory, args.out))
        elif args.command == "init":
            from descriptor_pipeline.run import init_directory

            for path in init_directory(args.directory, force=args.force):
                print(path)
        elif args.command == "backtrack":
            from descriptor_pipeline.lineage import create_cluster_structure

            create_cluster_structure(args.results, out=args.out)
        elif args.command == "explain":
            from descriptor_pipeline.explain import explain

            print(explain(args.name, args.results))
        elif args.command == "apply":
            from descriptor_pipeline.inputs import expand_inputs, folder_globs
            from descriptor_pipeline.reduce import apply_selection

            folders = [p for p in args.inputs if os.path.isdir(p)]
            carry = [] if args.no_carry else args.carry
            for path in apply_selection(args.selection, expand_inputs(folder_globs(args.inputs)), args.out, carry, folders):
                print(path)
        elif args.command == "demo":
            from descriptor_pipeline.demo import write_demo

            for path in write_demo(args.out):
                print(path)
    except PipelineError as exc:
        print(f"descriptor-pipeline: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # anything not caught nearer: the file and what the system said, in one line
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"descriptor-pipeline: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("descriptor-pipeline: interrupted; finished stages are kept: run the same command again to resume",
              file=sys.stderr)
        return 130
    return 0


def _positive(text: str) -> int:
    """A count of at least 1 (argparse turns the ValueError into its one-line usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text}: give at least 1 (a run with no core never starts)")
    return value


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("descriptor-pipeline")
    except metadata.PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
