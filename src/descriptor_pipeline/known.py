"""Descriptors chemists know by name, most preferred first: what a cluster's representative is, when one
of them is as good a representative as the best (``prefer_known``; see graph.py).

A redundancy filter picks one descriptor to stand for many; the one it picks is what a chemist reads in
a model, a paper or a report. Among near-equally good choices, "molecular weight" says more than "an
eigenvalue of the detour matrix". The list holds the everyday quantities (size, polarity, lipophilicity,
hydrogen bonding, flexibility, rings, heteroatoms) under the names RDKit (``rdkit.Chem.Descriptors``),
Mordred and PaDEL give them. A name matches as it is or after a prefix ending in ``:`` or ``.``
(``rdkit:MolWt``), as concatenated tables name their columns.
"""

from __future__ import annotations

KNOWN = (
    # size: molecular weight, then heavy atoms and atoms
    "MolWt", "MW", "ExactMolWt", "HeavyAtomMolWt", "HeavyAtomCount", "nHeavyAtom", "nAtom", "nBonds",
    # polarity and lipophilicity
    "TPSA", "TopoPSA", "MolLogP", "SLogP", "CrippenLogP", "ALogP", "XLogP", "MolMR", "SMR", "CrippenMR",
    "LabuteASA",
    # hydrogen bonding (RDKit's Lipinski counts, Mordred's and PaDEL's)
    "NumHDonors", "nHBDon", "nHBDon_Lipinski", "NumHAcceptors", "nHBAcc", "nHBAcc_Lipinski", "NHOHCount",
    "NOCount",
    # flexibility and shape
    "NumRotatableBonds", "nRot", "nRotB", "FractionCSP3", "FCSP3",
    # rings
    "RingCount", "nRing", "NumAromaticRings", "naRing", "NumAliphaticRings", "nARing", "nHeteroRing",
    "nAromBond",
    # heteroatoms and elements
    "NumHeteroatoms", "nHetero", "nC", "nN", "nO", "nS", "nP", "nF", "nCl", "nBr", "nI", "nX",
    # charge state
    "nAcid", "nBase",
)
_RANK = {name: r for r, name in enumerate(KNOWN)}


def known_rank(name: str) -> int:
    """The place of ``name`` in :data:`KNOWN` (as it is, or after a ``prefix:`` / ``prefix.``); len(KNOWN)
    for any other name."""
    for candidate in (name, name.rsplit(":", 1)[-1], name.rsplit(".", 1)[-1]):
        if candidate in _RANK:
            return _RANK[candidate]
    return len(KNOWN)
