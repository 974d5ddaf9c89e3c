"""The embedded demo data set: a descriptor table with planted redundancy, written as several Parquet files.

Column names say what was planted, so the result can be read against the truth:
``mono{g}_*`` monotone transforms of one latent (Spearman merges them), ``wave{g}_x`` and
``wave{g}_sin`` (sin(pi x), not monotone: they survive Spearman; HSIC / RDC merge them),
``wave{g}_square`` (x^2: a one-way function, x predicts it but it does not predict x, so its link to x
is refused at the default ``min_predictability`` and it survives on its own),
``indep_*`` independent columns (never merged), ``const_*``, ``nearconst_*``, ``sparse_missing_*``,
``allnull_*`` (dropped at ingest), ``*_dupe`` exact copies of other columns, and the id columns
``row_id`` (numeric, excluded by config) and ``mol_id`` / ``smiles`` (text, left out).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from descriptor_pipeline import io


@dataclass
class Planted:
    """The truth behind a generated table: which columns belong together and which must go."""

    monotone_groups: list[list[str]] = field(default_factory=list)
    wave_groups: list[list[str]] = field(default_factory=list)
    one_way: list[str] = field(default_factory=list)  # linked to a wave group, refused as a merge
    independent: list[str] = field(default_factory=list)
    constant: list[str] = field(default_factory=list)
    near_constant: list[str] = field(default_factory=list)
    mostly_missing: list[str] = field(default_factory=list)
    all_missing: list[str] = field(default_factory=list)
    duplicates: dict[str, str] = field(default_factory=dict)  # copy -> original
    non_numeric: list[str] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)


def make_table(n_rows: int = 3000, seed: int = 7, n_monotone: int = 20, n_wave: int = 10, n_independent: int = 60) -> tuple[pa.Table, Planted]:
    """Build the planted descriptor table (rows x about 200 columns) and its truth."""
    rng = np.random.default_rng(seed)
    cols: dict[str, pa.Array | np.ndarray] = {}
    truth = Planted()

    cols["row_id"] = np.arange(n_rows, dtype=np.int64)
    cols["mol_id"] = pa.array([f"MOL{i:07d}" for i in range(n_rows)])
    cols["smiles"] = pa.array(["C" * (1 + i % 12) + "O" * (i % 3) for i in range(n_rows)])
    truth.ids, truth.non_numeric = ["row_id"], ["mol_id", "smiles"]

    for g in range(n_monotone):
        z = rng.normal(size=n_rows)
        members = {
            f"mono{g:02d}_z": z,
            f"mono{g:02d}_exp": np.exp(0.5 * z),
            f"mono{g:02d}_cubic": z**3 + 0.5 * z,
            f"mono{g:02d}_noisy": 2.0 * z + 0.05 * rng.normal(size=n_rows),
        }
        cols.update(members)
        truth.monotone_groups.append(list(members))

    for g in range(n_wave):
        x = rng.uniform(-1.0, 1.0, size=n_rows)
        members = {
            f"wave{g:02d}_x": x,
            f"wave{g:02d}_square": x**2,
            f"wave{g:02d}_sin": np.sin(np.pi * x),
        }
        cols.update(members)
        truth.wave_groups.append([f"wave{g:02d}_x", f"wave{g:02d}_sin"])
        truth.one_way.append(f"wave{g:02d}_square")

    kinds = ("normal", "lognormal", "uniform", "counts", "binary", "gappy")
    for i in range(n_independent):
        kind = kinds[i % len(kinds)]
        name = f"indep_{kind}_{i:02d}"
        if kind == "normal":
            v = rng.normal(size=n_rows)
        elif kind == "lognormal":
            v = rng.lognormal(size=n_rows)
        elif kind == "uniform":
            v = rng.uniform(size=n_rows)
        elif kind == "counts":
            v = rng.poisson(2.0, size=n_rows).astype(np.int64)
        elif kind == "binary":
            v = rng.random(n_rows) < 0.3
        else:
            v = rng.normal(size=n_rows)
            v[rng.random(n_rows) < 0.05] = np.nan
            v[rng.random(n_rows) < 0.005] = np.inf
        cols[name] = v
        truth.independent.append(name)

    for i in range(5):
        cols[f"const_{i}"] = np.full(n_rows, float(i))
        truth.constant.append(f"const_{i}")
        v = np.zeros(n_rows)
        v[rng.choice(n_rows, size=max(1, n_rows // 400), replace=False)[:3]] = 1.0  # three rows off 0
        cols[f"nearconst_{i}"] = v
        truth.near_constant.append(f"nearconst_{i}")
        v = rng.normal(size=n_rows)
        cols[f"sparse_missing_{i}"] = pa.array(v, mask=rng.random(n_rows) < 0.8)
        truth.mostly_missing.append(f"sparse_missing_{i}")
    for i in range(2):
        cols[f"allnull_{i}"] = pa.nulls(n_rows, type=pa.float64())
        truth.all_missing.append(f"allnull_{i}")

    originals = [f"mono{g:02d}_z" for g in range(0, n_monotone, 4)] + [f"indep_{k}_{i:02d}" for i, k in ((1, "lognormal"), (3, "counts"), (5, "gappy"))]
    for original in originals:
        copy = f"{original}_dupe"  # sorts after its original, so the original is the keeper by default
        cols[copy] = cols[original]
        truth.duplicates[copy] = original

    table = pa.table({k: (v if isinstance(v, pa.Array) else pa.array(v)) for k, v in cols.items()})
    return table, truth


def write_demo(out_dir: str | Path, n_files: int = 4, n_rows: int = 3000, seed: int = 7) -> list[Path]:
    """Write the demo table split over ``n_files`` Parquet files; return their paths."""
    table, _ = make_table(n_rows=n_rows, seed=seed)
    out = Path(out_dir)
    bounds = np.linspace(0, table.num_rows, n_files + 1).astype(int)
    parts = [(out / f"part-{i:03d}.parquet", table.slice(bounds[i], bounds[i + 1] - bounds[i])) for i in range(n_files)]
    with tempfile.TemporaryDirectory() as scratch:  # the files as they will be, to recognise an earlier demo's
        own = {}
        for path, part in parts:
            if path.exists() or path.is_symlink():
                io.write_parquet(Path(scratch) / path.name, part)
                own[path] = (Path(scratch) / path.name).read_bytes()
        for path, data in own.items():
            io.check_replaceable(path, lambda p: p.read_bytes() == data, "demo --out")
    for path, part in parts:
        io.write_parquet(path, part)
    return [path for path, _ in parts]
