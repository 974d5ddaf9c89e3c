rule backtrack:
    input:
        final="results/final_descriptors.txt",
        stats="results/ingest/column_stats.parquet",
        ingest_summary="results/ingest/summary.json",
        clusters=expand("results/{p}/clusters.parquet", p=ENABLED_PASSES),
        summaries=expand("results/{p}/summary.json", p=ENABLED_PASSES),
    output:
        report(
            "results/surviving_descriptors_clusters.json",
            caption="../report/clusters.rst",
            category="Result",
        ),
    log:
        "logs/backtrack.log",
    conda:
        "../envs/cpu.yaml"
    params:
        passes=ENABLED_PASSES,
    script:
        "../scripts/backtrack.py"
