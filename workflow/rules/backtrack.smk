rule backtrack:
    input:
        final=str(RESULTS.final_list),
        stats=str(RESULTS.ingest.column_stats),
        ingest_summary=str(RESULTS.ingest.summary),
        sample=str(RESULTS.ingest.sample),
        clusters=[str(stage_files(p).clusters) for p in ENABLED_PASSES],
        summaries=[str(stage_files(p).summary) for p in ENABLED_PASSES],
    output:
        report(
            str(RESULTS.cluster_report),
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
        conda_env("cpu")
    resources:
        mem_mb=backtrack_mem_mb(),
        runtime=runtime("backtrack"),
    params:
        passes=ENABLED_PASSES,
    script:
        "../scripts/backtrack.py"


rule alternatives:
    input:
        report=str(RESULTS.cluster_report),
        final=str(RESULTS.final_list),
    output:
        report(
            str(RESULTS.alternatives),
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
        conda_env("cpu")
    resources:
        mem_mb=fixed_mem_mb("alternatives"),
        runtime=runtime("alternatives"),
    script:
        "../scripts/alternatives.py"
