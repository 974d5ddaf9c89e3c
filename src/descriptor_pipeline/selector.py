"""A scikit-learn transformer that runs the workflow: ``DescriptorSelector`` (needs ``scikit-learn``).

    from sklearn.pipeline import make_pipeline
    from descriptor_pipeline.selector import DescriptorSelector

    model = make_pipeline(DescriptorSelector(hsic_threshold=0.85), RandomForestRegressor())
    model.fit(X_train, y_train)              # X: a DataFrame of descriptors (or an array)
    model[0].get_feature_names_out()         # the final descriptors
    model[0].clusters_["descriptors"]        # as in surviving_descriptors_clusters.json

``fit`` writes ``X`` as one Parquet file into a run directory (a temporary one unless ``run_dir`` is
given) and runs the workflow's stages up to the cluster report, in this process, in the workflow's
order and onto the same checkpoint files as ``descriptor-pipeline run``. It keeps the final
descriptors and the cluster report; ``transform`` selects those columns. ``y`` is ignored: the
selection is unsupervised. ``engine="snakemake"`` runs the Snakemake workflow itself instead, every
stage in its own process with its log in ``run_dir/logs`` (byte-identical results, a test checks it;
about 10 s more per fit, which dominates for small tables fitted many times, as in cross-validation).
The workflow's ``exclude_columns`` default (``row_id``) does not apply here; every column of ``X`` is a
descriptor.
"""

from __future__ import annotations

import tempfile
import warnings
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from descriptor_pipeline.api import DescriptorPipeline, PipelineConfig, find_workflow_dir
from descriptor_pipeline.config import deep_merge
from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.io import write_parquet
from descriptor_pipeline.layout import Results
from descriptor_pipeline.settings import MIN_ROWS, PASSES, defaults, load_schema

_TARGET = str(Results().cluster_report)
_DEFAULTS = defaults(load_schema())  # the schema is the one home of every default


class DescriptorSelector(SelectorMixin, BaseEstimator):
    """Keep one descriptor per group of redundant ones (Spearman, HSIC and RDC passes with Leiden).

    Parameters
    ----------
    spearman_threshold, hsic_threshold, rdc_threshold : float
        The passes' thresholds (config keys ``passes.<name>.threshold``).
    passes : sequence of str
        The passes to run, out of ``("spearman", "hsic", "rdc")``; always run in that order.
    max_missing_ratio : float
        Drop a column with a larger share of missing values (NaN) at ingest.
    sample_rows : int
        Rows drawn for the dependence passes (0: all).
    keep, prefer : sequence of str
        Descriptors that must survive; preferred representatives (config keys ``keep`` / ``prefer``).
    random_state : int, RandomState or None
        The workflow's ``seed``: an int is used as it is, so ``random_state=42`` gives the command line's
        default selection; anything else draws one.
    backend : {"auto", "numpy", "cupy"}
        Array backend of the passes.
    cores : int
        The stages' threads (with ``engine="snakemake"``: the cores Snakemake may use).
    engine : {"inline", "snakemake"}
        Run the workflow's stage functions in this process (the default), or the Snakemake workflow
        (each stage its own process, logs in ``run_dir/logs``).
    run_dir : path or None
        Where the run's ``results/`` and ``logs/`` go; kept after ``fit``. None: a temporary directory,
        removed after ``fit``.
    settings : mapping or None
        Further config keys merged last (e.g. ``{"passes": {"hsic": {"n_features": 128}}}``).

    Attributes
    ----------
    n_features_in_, feature_names_in_ : as in scikit-learn
    selected_ : list of str
        The final descriptors, in the workflow's order.
    clusters_ : dict
        The cluster report (``surviving_descriptors_clusters.json``): every survivor with the
        descriptors it stands for, through every pass.
    """

    def __init__(
        self,
        *,
        spearman_threshold: float = _DEFAULTS["passes"]["spearman"]["threshold"],
        hsic_threshold: float = _DEFAULTS["passes"]["hsic"]["threshold"],
        rdc_threshold: float = _DEFAULTS["passes"]["rdc"]["threshold"],
        passes: Sequence[str] = PASSES,
        max_missing_ratio: float = _DEFAULTS["ingest"]["max_missing_ratio"],
        sample_rows: int = _DEFAULTS["sample_rows"],
        keep: Sequence[str] = (),
        prefer: Sequence[str] = (),
        random_state: Any = _DEFAULTS["seed"],
        backend: str = "auto",
        cores: int = 1,
        engine: str = "inline",
        run_dir: str | Path | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        self.spearman_threshold = spearman_threshold
        self.hsic_threshold = hsic_threshold
        self.rdc_threshold = rdc_threshold
        self.passes = passes
        self.max_missing_ratio = max_missing_ratio
        self.sample_rows = sample_rows
        self.keep = keep
        self.prefer = prefer
        self.random_state = random_state
        self.backend = backend
        self.cores = cores
        self.engine = engine
        self.run_dir = run_dir
        self.settings = settings

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # missing values are part of the ingest's statistics
        tags.non_deterministic = False
        return tags

    def _config(self, names: list[str]) -> dict[str, Any]:
        unknown = [p for p in self.passes if p not in PASSES]
        if unknown or isinstance(self.passes, str):
            raise ValueError(f"passes={self.passes!r}: each entry must be one of {', '.join(PASSES)}")
        seed = self.random_state
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            seed = int(check_random_state(seed).randint(np.iinfo(np.int32).max))
        thresholds = {"spearman": self.spearman_threshold, "hsic": self.hsic_threshold, "rdc": self.rdc_threshold}
        config = {
            "exclude_columns": [],
            "reduced": False,
            "seed": int(seed),
            "sample_rows": self.sample_rows,
            "keep": list(self.keep),
            "prefer": list(self.prefer),
            "backend": self.backend,
            "ingest": {"max_missing_ratio": self.max_missing_ratio},
            "passes": {p: {"enabled": p in self.passes, "threshold": thresholds[p]} for p in PASSES},
        }
        return deep_merge(config, dict(self.settings or {}))

    def fit(self, X: Any, y: Any = None) -> DescriptorSelector:
        """Run the workflow on ``X`` (rows: molecules, columns: descriptors; NaN is missing)."""
        twice = sorted(str(n) for n, k in Counter(getattr(X, "columns", [])).items() if k > 1)
        if twice:  # before scikit-learn's check, whose message spans lines
            raise ValueError(f"DescriptorSelector: X has the column name {twice[0]!r} more than once; "
                             "give every column its own name")
        X = validate_data(self, X, dtype=[np.float64, np.float32], ensure_all_finite=False)
        X = np.where(np.isinf(X), np.nan, X)  # +-inf are missing values, as the workflow reads them
        if X.shape[0] < MIN_ROWS:
            warnings.warn(f"DescriptorSelector: X has {X.shape[0]} rows; below {MIN_ROWS} dependence cannot be told from "
                          "chance, so nothing is merged (docs/calibration.md, Row floor)", UserWarning, stacklevel=2)

        names = self._names()
        table = pa.table({f"c{j}": X[:, j].astype(np.float64, copy=False) for j in range(X.shape[1])}).rename_columns(names)
        with tempfile.TemporaryDirectory(prefix="descriptor-selector-") as tmp:
            run_dir = Path(self.run_dir) if self.run_dir is not None else Path(tmp)
            data = run_dir / "input" / "X.parquet"
            data.parent.mkdir(parents=True, exist_ok=True)
            write_parquet(data, table)
            config = PipelineConfig(str(data.resolve()), run_dir, cores=self.cores, **self._config(names))
            pipeline = DescriptorPipeline(config)
            try:
                if self.engine == "snakemake":
                    pipeline.execute(_TARGET)
                elif self.engine == "inline":
                    run_inline(config, self.cores)
                else:
                    raise PipelineError(f"engine={self.engine!r}: use 'snakemake' or 'inline'")
                result = pipeline.load_results()
            except PipelineError as exc:
                raise ValueError(f"DescriptorSelector: {exc}") from None
        chosen = set(result.final_descriptors)
        self.selected_ = list(result.final_descriptors)
        self.clusters_ = result.clusters
        self.support_ = np.array([name in chosen for name in names], dtype=bool)
        return self

    def _names(self) -> list[str]:
        if hasattr(self, "feature_names_in_"):
            return [str(n) for n in self.feature_names_in_]
        return [f"x{j}" for j in range(self.n_features_in_)]

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "support_")
        return self.support_


def run_inline(config: PipelineConfig, threads: int = 1) -> None:
    """The rules up to the cluster report, run in this process (:func:`descriptor_pipeline.chain.run_chain`),
    with the run directory's checkpoint files as inputs and outputs."""
    from descriptor_pipeline.chain import run_chain
    from descriptor_pipeline.inputs import expand_inputs

    settings = config.resolved(find_workflow_dir(config.workflow_dir))
    run_chain(settings, expand_inputs(settings["input"], config.output_dir), Results(config.output_dir / "results"), threads)
