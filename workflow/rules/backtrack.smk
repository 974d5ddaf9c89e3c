rule backtrack:
    input:
        final="results/final_descriptors.txt",
        stats="results/ingest/column_stats.parquet",
        ingest_summary="results/ingest/summary.json",
        sample="results/ingest/sample.parquet",
        clusters=expand("results/{p}/clusters.parquet", p=ENABLED_PASSES),
        summaries=expand("results/{p}/summary.json", p=ENABLED_PASSES),
    output:
        report(
            "results/surviving_descriptors_clusters.json",
            caption="../report/clusters.rst",
            category="3. Results",
            labels={"result": "cluster report (JSON)"},
        ),
    log:
        "logs/backtrack.log",
    benchmark:
        "logs/benchmarks/backtrack.tsv"
    localrule: True
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=2000,
        runtime=runtime("backtrack"),
    params:
        passes=ENABLED_PASSES,
    script:
        "../scripts/backtrack.py"


rule alternatives:
    input:
        report="results/surviving_descriptors_clusters.json",
        final="results/final_descriptors.txt",
    output:
        report(
            "results/alternatives.tsv",
            caption="../report/alternatives.rst",
            category="3. Results",
            labels={"result": "alternatives table (TSV)"},
        ),
    log:
        "logs/alternatives.log",
    benchmark:
        "logs/benchmarks/alternatives.tsv"
    localrule: True
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime("alternatives"),
    script:
        "../scripts/alternatives.py"
