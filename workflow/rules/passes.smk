# One rule per dependence pass (spearman, hsic, rdc), each named after its pass: the same rule written
# once. A pass reads the previous enabled stage's survivors and gets only its own settings as params.
for _pass in PASSES:

    rule:
        name:
            _pass
        input:
            sample=str(RESULTS.ingest.sample),
            stats=str(RESULTS.ingest.column_stats),
            survivors=survivors_before(_pass),
            edge_shards=edge_shards(_pass),
        output:
            **stage_files(_pass).pass_outputs(),
        log:
            f"logs/{_pass}.log",
        benchmark:
            f"logs/benchmarks/{_pass}.tsv"
        conda:
            pass_env()
        threads: 2
        resources:
            mem_mb=pass_mem_mb(_pass),
            runtime=runtime(_pass),
            gpu=gather_gpus(_pass),
        params:
            pass_name=_pass,
            settings=settings_of(_pass),
        script:
            "../scripts/dependence_pass.py"

    # With passes.P.shards > 1, the block pairs of pass P run as that many jobs (each its own process; on
    # a cluster, its own node or GPU) and rule P gathers their edges: the outputs are the same as one job's.
    rule:
        name:
            f"{_pass}_shard"
        input:
            sample=str(RESULTS.ingest.sample),
            survivors=survivors_before(_pass),
        output:
            str(stage_files(_pass).shard("{shard}")),
        log:
            f"logs/{_pass}_shard-{{shard}}.log",
        benchmark:
            f"logs/benchmarks/{_pass}_shard-{{shard}}.tsv"
        wildcard_constraints:
            shard=r"\d+",
        conda:
            pass_env()
        threads: 2
        resources:
            mem_mb=pass_mem_mb(_pass),
            runtime=runtime(_pass),
            gpu=pass_gpus(),
        params:
            pass_name=_pass,
            settings=settings_of(_pass),
            shards=shard_count(_pass),
        script:
            "../scripts/pass_shard.py"
