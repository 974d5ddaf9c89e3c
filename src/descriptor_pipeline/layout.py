"""Where things are: the installed workflow, and the files of a run directory (the interface between stages).

A run directory holds ``results/`` with one folder per stage (``ingest/``, ``spearman/``, ``hsic/``,
``rdc/``) and the final outputs beside them; :class:`Results` names every one of those files, and the
rules, the stages and every reader (lineage, explain, the report, the scikit-learn transformer) take
their paths from it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from descriptor_pipeline.errors import PipelineError

# Where the workflow is: in the wheel, the data package descriptor_pipeline/_workflow/ (pyproject.toml
# maps the repository root onto it); in an editable install, the checkout two levels above this file.
_PACKAGED = Path(__file__).resolve().parent / "_workflow"
_CHECKOUT = Path(__file__).resolve().parents[2]


def find_workflow_dir(workflow_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory holding the Snakefile: ``workflow_dir``, else ``$DESCRIPTOR_PIPELINE_WORKFLOW``, else
    the copy installed with the package, else the checkout of an editable install (``pip install -e .``)."""
    chosen = workflow_dir or os.environ.get("DESCRIPTOR_PIPELINE_WORKFLOW")
    if chosen:
        if not (Path(chosen) / "Snakefile").is_file():
            raise PipelineError(f"workflow_dir {chosen}: no Snakefile there; point it at a descriptor-pipeline checkout")
        return Path(chosen).resolve()
    for candidate in (_PACKAGED, _CHECKOUT):
        if (candidate / "Snakefile").is_file():
            return candidate
    raise PipelineError(
        f"the workflow (Snakefile, config/, workflow/) is missing from the installed package ({_PACKAGED}); "
        "reinstall descriptor-pipeline, or pass workflow_dir= (or set DESCRIPTOR_PIPELINE_WORKFLOW)"
    )


def schema_path(workflow_dir: str | os.PathLike[str] | None = None) -> Path:
    """The workflow's config schema: every key, its default and the stages that read it."""
    return find_workflow_dir(workflow_dir) / "config" / "schema.yaml"


@dataclass(frozen=True)
class StageFiles:
    """The checkpoint files of one stage: ingest, or a dependence pass (which also has clusters and edges)."""

    folder: Path

    @property
    def survivors(self) -> Path:
        return self.folder / "survivors.txt"

    @property
    def summary(self) -> Path:
        return self.folder / "summary.json"

    @property
    def clusters(self) -> Path:
        return self.folder / "clusters.parquet"

    @property
    def edges(self) -> Path:
        return self.folder / "edges.parquet"

    def shard(self, k: int | str) -> Path:
        """The edges of shard ``k`` of a pass split over several jobs."""
        return self.folder / "shards" / f"edges-{k}.parquet"

    # ingest only
    @property
    def column_stats(self) -> Path:
        return self.folder / "column_stats.parquet"

    @property
    def sample(self) -> Path:
        return self.folder / "sample.parquet"

    def pass_outputs(self) -> dict[str, str]:
        """A pass rule's named outputs."""
        return {"clusters": str(self.clusters), "edges": str(self.edges), "survivors": str(self.survivors),
                "summary": str(self.summary)}

    def ingest_outputs(self) -> dict[str, str]:
        """The ingest rule's named outputs."""
        return {"stats": str(self.column_stats), "survivors": str(self.survivors), "sample": str(self.sample),
                "summary": str(self.summary)}


@dataclass(frozen=True)
class Figure:
    """One page of the report: ``key`` + ``suffix`` under ``results/report/`` (a pass's figure under
    ``results/report/<pass>/``), its caption file in ``workflow/report/`` and its place in the report."""

    key: str
    label: str
    category: str
    per_pass: bool = False
    stability: bool = False  # drawn only when the run has stability seeds
    suffix: str = ".svg"

    @property
    def name(self) -> str:
        return self.key + self.suffix

    @property
    def caption(self) -> str:
        return f"{self.key}.rst"


# The report's figures, in the order the report lists them (rule report_figures draws all but benchmarks).
FIGURES = (
    Figure("funnel", "descriptors through the stages", "1. Overview"),
    Figure("ingest_drops", "columns removed at ingest", "1. Overview"),
    Figure("settings", "run settings and versions", "1. Overview", suffix=".html"),
    Figure("top_descriptors", "top survivors by alternatives", "3. Results"),
    Figure("predictability", "predictability of the stand-ins", "3. Results"),
    Figure("stability", "final set across seeds", "3. Results", stability=True),
    Figure("similarity", "similarity histogram", "2. Passes", per_pass=True),
    Figure("cluster_sizes", "cluster sizes", "2. Passes", per_pass=True),
    Figure("largest_clusters", "largest clusters", "2. Passes", per_pass=True),
)
BENCHMARKS = Figure("benchmarks", "time and memory per job", "1. Overview")
FIGURE = {f.key: f for f in (*FIGURES, BENCHMARKS)}


def figure_path(report_dir: str | os.PathLike[str], key: str, pass_name: str | None = None) -> Path:
    """The file of figure ``key`` in the report folder ``report_dir`` (per-pass figures in a folder per pass)."""
    figure = FIGURE[key]
    if figure.per_pass != (pass_name is not None):
        raise ValueError(f"figure {key!r}: {'a' if figure.per_pass else 'no'} pass name is needed")
    return (Path(report_dir) / pass_name if pass_name else Path(report_dir)) / figure.name


@dataclass(frozen=True)
class Results:
    """The files of a run's ``results/`` folder (``root``; relative in the rules, any path for readers)."""

    root: Path = Path("results")

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    def stage(self, name: str) -> StageFiles:
        """``ingest`` or a pass's folder."""
        return StageFiles(self.root / name)

    @property
    def ingest(self) -> StageFiles:
        return self.stage("ingest")

    @property
    def final_list(self) -> Path:
        return self.root / "final_descriptors.txt"

    @property
    def cluster_report(self) -> Path:
        return self.root / "surviving_descriptors_clusters.json"

    @property
    def alternatives(self) -> Path:
        return self.root / "alternatives.tsv"

    @property
    def stability(self) -> Path:
        return self.root / "stability.json"

    @property
    def reduced(self) -> Path:
        return self.root / "reduced"

    @property
    def demo(self) -> Path:
        return self.root / "demo"

    @property
    def report(self) -> Path:
        """The folder of the report's figures."""
        return self.root / "report"

    def figure(self, key: str, pass_name: str | None = None) -> Path:
        """The file of figure ``key`` (of pass ``pass_name`` for a per-pass figure)."""
        return figure_path(self.report, key, pass_name)

    def figures(self, passes: Sequence[str], stability: bool) -> list[tuple[Figure, str | None, Path]]:
        """Every figure rule report_figures draws for a run of these passes: (figure, pass or None, file)."""
        out: list[tuple[Figure, str | None, Path]] = []
        for f in FIGURES:
            if f.stability and not stability:
                continue
            for p in passes if f.per_pass else [None]:
                out.append((f, p, self.figure(f.key, p)))
        return out

    def demo_files(self, n: int = 4) -> list[str]:
        return [str(self.demo / f"part-{i:03d}.parquet") for i in range(n)]

    @property
    def stale(self) -> Path:
        """Where outputs of stages that the configuration no longer has are moved aside."""
        return self.root / ".stale"

    def not_in(self, passes: Sequence[str], all_passes: Sequence[str], reduced: bool, stability: bool) -> list[Path]:
        """The outputs present here of stages a configuration with these ``passes`` (of ``all_passes``),
        ``reduced`` and ``stability`` does not have."""
        candidates = [p for name in all_passes if name not in passes for p in (self.stage(name).folder, self.report / name)]
        if not reduced:
            candidates.append(self.reduced)
        if not stability:
            candidates += [self.stability, self.report / "stability.svg"]
        return [p for p in candidates if p.exists()]


# The folders a run writes into its directory: never read as its input, whatever glob reaches them.
RUN_FOLDERS = (str(Results().root), "logs", ".snakemake")

# The list of what ``descriptor-pipeline apply`` wrote into its --out folder: what lets a later apply
# replace that folder (and nothing else).
APPLY_MANIFEST = "descriptor-pipeline-apply.json"


def set_aside_stale(results: Results, passes: Sequence[str], all_passes: Sequence[str], reduced: bool,
                    stability: bool) -> list[tuple[Path, Path]]:
    """Move the outputs of stages this configuration does not have (a pass switched off, ``reduced:
    false``, no ``stability_seeds``) to ``results/.stale/``, so no reader takes them for this run's; an
    older copy there is replaced. Returns (from, to) for each move."""
    moved = []
    for path in results.not_in(passes, all_passes, reduced, stability):
        target = results.stale / path.relative_to(results.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        os.replace(path, target)
        moved.append((path, target))
    return moved
