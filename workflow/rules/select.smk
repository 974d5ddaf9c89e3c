rule select:
    input:
        survivors=final_survivors(),
    output:
        final=report(
            "results/final_descriptors.txt",
            caption="../report/final_descriptors.rst",
            category="3. Results",
            labels={"result": "final descriptor list"},
        ),
    log:
        "logs/select.log",
    benchmark:
        "logs/benchmarks/select.tsv"
    localrule: True
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime("select"),
    script:
        "../scripts/select.py"


# The input rows projected on the final descriptors (and config carry_columns), one file per input file.
rule reduce:
    input:
        final="results/final_descriptors.txt",
        data=INPUT_FILES,
    output:
        directory("results/reduced"),
    log:
        "logs/reduce.log",
    benchmark:
        "logs/benchmarks/reduce.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=reduce_mem_mb(),
        runtime=runtime("reduce"),
    params:
        carry=config["carry_columns"],
    script:
        "../scripts/reduce.py"


# With config stability_seeds, the dependence passes again under each of those seeds, on the same row
# sample: how much the final set depends on the seed (Jaccard indices, descriptors whose fate flips).
rule stability:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors="results/ingest/survivors.txt",
        final="results/final_descriptors.txt",
        report="results/surviving_descriptors_clusters.json",
    output:
        report(
            "results/stability.json",
            caption="../report/stability.rst",
            category="3. Results",
            labels={"result": "stability across seeds (JSON)"},
        ),
    log:
        "logs/stability.log",
    benchmark:
        "logs/benchmarks/stability.tsv"
    conda:
        "../envs/gpu.yaml" if pass_gpus() else "../envs/cpu.yaml"
    threads: 2
    resources:
        mem_mb=max_pass_mem_mb(),
        runtime=runtime("stability"),
        gpu=pass_gpus(),
    params:
        config=config,
    script:
        "../scripts/stability.py"
