"""Final selection: the survivors of the last enabled stage, one name per line, in input column order."""

from __future__ import annotations

from descriptor_pipeline import checkpoints, io
from descriptor_pipeline.logs import LOG


def write_final_list(last_survivors: str, out_final: str) -> list[str]:
    """Copy the last stage's survivors (already in input column order) to the final list."""
    checkpoints.verify(last_survivors)
    names = io.read_lines(last_survivors)
    io.write_lines(out_final, names)
    LOG.info("select: %d final descriptors", len(names))
    return names
