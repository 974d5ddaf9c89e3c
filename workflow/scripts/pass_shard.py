"""Rules spearman_shard, hsic_shard, rdc_shard: one shard of a pass's block pairs (config passes.P.shards)."""

from descriptor_pipeline.passes import run_shard
from descriptor_pipeline.stage import run_stage


def main(smk):
    run_shard(
        smk.params.pass_name,
        smk.params.settings,
        sample_path=smk.input.sample,
        survivors_in=smk.input.survivors,
        shard=int(smk.wildcards.shard),
        shards=smk.params.shards,
        out=smk.output[0],
        threads=smk.threads,
    )


run_stage(snakemake, main)  # noqa: F821
