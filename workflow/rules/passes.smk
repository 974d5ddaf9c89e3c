rule spearman:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("spearman"),
    output:
        **pass_outputs("spearman"),
    log:
        "logs/spearman.log",
    benchmark:
        "benchmarks/spearman.tsv"
    conda:
        "../envs/gpu.yaml" if pass_gpus() else "../envs/cpu.yaml"
    threads: 2
    resources:
        mem_mb=pass_mem_mb("spearman"),
        runtime=runtime("spearman"),
        gpu=pass_gpus(),
    params:
        pass_name="spearman",
        config=config,
    script:
        "../scripts/dependence_pass.py"


use rule spearman as hsic with:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("hsic"),
    output:
        **pass_outputs("hsic"),
    log:
        "logs/hsic.log",
    benchmark:
        "benchmarks/hsic.tsv"
    resources:
        mem_mb=pass_mem_mb("hsic"),
        runtime=runtime("hsic"),
        gpu=pass_gpus(),
    params:
        pass_name="hsic",
        config=config,


use rule spearman as rdc with:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("rdc"),
    output:
        **pass_outputs("rdc"),
    log:
        "logs/rdc.log",
    benchmark:
        "benchmarks/rdc.tsv"
    resources:
        mem_mb=pass_mem_mb("rdc"),
        runtime=runtime("rdc"),
        gpu=pass_gpus(),
    params:
        pass_name="rdc",
        config=config,
