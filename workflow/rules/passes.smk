rule spearman:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("spearman"),
    output:
        **pass_outputs("spearman"),
    params:
        pass_name="spearman",
        config=config,
    threads: 2
    resources:
        mem_mb=8000,
        gpu=pass_gpus(),
    log:
        "logs/spearman.log",
    benchmark:
        "benchmarks/spearman.tsv"
    conda:
        "../envs/gpu.yaml" if pass_gpus() else "../envs/cpu.yaml"
    script:
        "../scripts/dependence_pass.py"


use rule spearman as hsic with:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("hsic"),
    output:
        **pass_outputs("hsic"),
    params:
        pass_name="hsic",
        config=config,
    log:
        "logs/hsic.log",
    benchmark:
        "benchmarks/hsic.tsv"


use rule spearman as rdc with:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("rdc"),
    output:
        **pass_outputs("rdc"),
    params:
        pass_name="rdc",
        config=config,
    log:
        "logs/rdc.log",
    benchmark:
        "benchmarks/rdc.tsv"
