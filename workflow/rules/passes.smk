rule spearman:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("spearman"),
        edge_shards=edge_shards("spearman"),
    output:
        **pass_outputs("spearman"),
    log:
        "logs/spearman.log",
    benchmark:
        "logs/benchmarks/spearman.tsv"
    conda:
        "../envs/gpu.yaml" if pass_gpus() else "../envs/cpu.yaml"
    threads: 2
    resources:
        mem_mb=pass_mem_mb("spearman"),
        runtime=runtime("spearman"),
        gpu=gather_gpus("spearman"),
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
        edge_shards=edge_shards("hsic"),
    output:
        **pass_outputs("hsic"),
    log:
        "logs/hsic.log",
    benchmark:
        "logs/benchmarks/hsic.tsv"
    resources:
        mem_mb=pass_mem_mb("hsic"),
        runtime=runtime("hsic"),
        gpu=gather_gpus("hsic"),
    params:
        pass_name="hsic",
        config=config,


use rule spearman as rdc with:
    input:
        sample="results/ingest/sample.parquet",
        stats="results/ingest/column_stats.parquet",
        survivors=survivors_before("rdc"),
        edge_shards=edge_shards("rdc"),
    output:
        **pass_outputs("rdc"),
    log:
        "logs/rdc.log",
    benchmark:
        "logs/benchmarks/rdc.tsv"
    resources:
        mem_mb=pass_mem_mb("rdc"),
        runtime=runtime("rdc"),
        gpu=gather_gpus("rdc"),
    params:
        pass_name="rdc",
        config=config,


# With passes.P.shards > 1, the block pairs of pass P run as that many jobs (each its own process; on a
# cluster, its own node or GPU) and rule P gathers their edges: the outputs are the same as one job's.
rule spearman_shard:
    input:
        sample="results/ingest/sample.parquet",
        survivors=survivors_before("spearman"),
    output:
        "results/spearman/shards/edges-{shard}.parquet",
    log:
        "logs/spearman_shard-{shard}.log",
    benchmark:
        "logs/benchmarks/spearman_shard-{shard}.tsv"
    wildcard_constraints:
        shard=r"\d+",
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
        shards=shard_count("spearman"),
    script:
        "../scripts/pass_shard.py"


use rule spearman_shard as hsic_shard with:
    input:
        sample="results/ingest/sample.parquet",
        survivors=survivors_before("hsic"),
    output:
        "results/hsic/shards/edges-{shard}.parquet",
    log:
        "logs/hsic_shard-{shard}.log",
    benchmark:
        "logs/benchmarks/hsic_shard-{shard}.tsv"
    resources:
        mem_mb=pass_mem_mb("hsic"),
        runtime=runtime("hsic"),
        gpu=pass_gpus(),
    params:
        pass_name="hsic",
        config=config,
        shards=shard_count("hsic"),


use rule spearman_shard as rdc_shard with:
    input:
        sample="results/ingest/sample.parquet",
        survivors=survivors_before("rdc"),
    output:
        "results/rdc/shards/edges-{shard}.parquet",
    log:
        "logs/rdc_shard-{shard}.log",
    benchmark:
        "logs/benchmarks/rdc_shard-{shard}.tsv"
    resources:
        mem_mb=pass_mem_mb("rdc"),
        runtime=runtime("rdc"),
        gpu=pass_gpus(),
    params:
        pass_name="rdc",
        config=config,
        shards=shard_count("rdc"),
