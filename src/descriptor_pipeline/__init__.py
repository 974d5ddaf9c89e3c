"""descriptor-pipeline: remove redundant numeric descriptors in passes, keeping who stands for whom."""

from descriptor_pipeline.errors import PipelineError

__version__ = "0.1.0"

__all__ = ["PipelineError", "__version__"]
