from snakemake.utils import min_version, validate

from descriptor_pipeline.errors import PipelineError
from descriptor_pipeline.settings import complete

min_version("9.0")


# The defaults sit next to this file, so the workflow also runs with --directory elsewhere (the Python
# API does that); --configfile and --config override them.
configfile: workflow.source_path("config/config.yaml")


# Nested --config values arrive as strings ("false", "0.85"): typed as the schema asks, the schema's
# defaults filled in (config/schema.yaml is their only home), then a one-line error naming a bad key
# (shared with the Python API).
try:
    config.update(complete(config, workflow.source_path("config/schema.yaml")))
except PipelineError as exc:
    raise WorkflowError(str(exc)) from None
validate(config, "config/schema.yaml")


# The landing page of `snakemake --report report.html`.
report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/resources.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/passes.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/backtrack.smk"
include: "workflow/rules/report.smk"


# A local run with backend cupy stops here when this machine has no usable GPU; a cluster run leaves
# that check to the pass jobs on the GPU nodes. Outputs of stages this configuration does not have (a pass
# switched off, reduced: false) are moved to results/.stale/ before any job runs, and a damaged checkpoint
# is refused before any output is deleted.
onstart:
    check_local_gpu()
    check_checkpoints()
    set_aside_unused_outputs()


rule all:
    default_target: True
    input:
        final_outputs(),
