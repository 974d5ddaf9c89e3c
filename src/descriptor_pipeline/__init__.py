"""descriptor-pipeline: remove redundant numeric descriptors in passes, keeping who stands for whom.

The public names are imported on first use, so the stage scripts that import the package do not pay
for the API's imports.
"""

from __future__ import annotations

import importlib
from typing import Any

from descriptor_pipeline.errors import PipelineError

__version__ = "0.1.0"

_LAZY = {
    "DescriptorPipeline": "descriptor_pipeline.api",
    "PipelineConfig": "descriptor_pipeline.api",
    "PipelineResult": "descriptor_pipeline.api",
    "create_cluster_structure": "descriptor_pipeline.lineage",
    "DescriptorSelector": "descriptor_pipeline.selector",
}

__all__ = ["DescriptorPipeline", "DescriptorSelector", "PipelineConfig", "PipelineError", "PipelineResult", "__version__", "create_cluster_structure"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'descriptor_pipeline' has no attribute {name!r}")
