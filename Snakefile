from snakemake.utils import min_version, validate

min_version("9.0")


configfile: "config/config.yaml"


validate(config, "config/schema.yaml")


include: "workflow/rules/common.smk"
include: "workflow/rules/demo.smk"
include: "workflow/rules/ingest.smk"
include: "workflow/rules/passes.smk"
include: "workflow/rules/select.smk"
include: "workflow/rules/backtrack.smk"


rule all:
    default_target: True
    input:
        final_outputs(),
