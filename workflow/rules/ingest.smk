rule ingest:
    input:
        INPUT_FILES,
    output:
        stats="results/ingest/column_stats.parquet",
        survivors="results/ingest/survivors.txt",
        sample="results/ingest/sample.parquet",
        summary="results/ingest/summary.json",
    log:
        "logs/ingest.log",
    benchmark:
        "logs/benchmarks/ingest.tsv"
    conda:
        "../envs/cpu.yaml"
    threads: 2
    resources:
        mem_mb=ingest_mem_mb(),
        runtime=runtime("ingest"),
    params:
        config=config,
    script:
        "../scripts/ingest.py"
