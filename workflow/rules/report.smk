# Figures for `snakemake --report report.html`, drawn from the checkpoint files of the run. They are part
# of `rule all`, so the report can be made as soon as a run has finished.


rule report_figures:
    input:
        ingest_summary=str(RESULTS.ingest.summary),
        summaries=[str(stage_files(p).summary) for p in ENABLED_PASSES],
        clusters=[str(stage_files(p).clusters) for p in ENABLED_PASSES],
        edges=[str(stage_files(p).edges) for p in ENABLED_PASSES],
        report=str(RESULTS.cluster_report),
        stability=[str(RESULTS.stability)] if STABILITY_SEEDS else [],
    output:
        *report_figure_outputs(),
    log:
        "logs/report_figures.log",
    benchmark:
        "logs/benchmarks/report_figures.tsv"
    localrule: True
    conda:
        conda_env("cpu")
    resources:
        mem_mb=fixed_mem_mb("report_figures"),
        runtime=runtime("report_figures"),
    params:
        passes=ENABLED_PASSES,
        out_dir=output_folder,
    script:
        "../scripts/report_figures.py"


# Reads the benchmark files that exist when it runs, without asking for them: a missing benchmark file
# (a run directory from an older version, a cleared logs/) must not make Snakemake rerun its job.
rule report_benchmarks:
    input:
        run_outputs(),
    output:
        svg=report_item(BENCHMARKS, RESULTS.figure("benchmarks")),
        tsv=str(RESULTS.figure("benchmarks").with_suffix(".tsv")),
    log:
        "logs/report_benchmarks.log",
    localrule: True
    conda:
        conda_env("cpu")
    resources:
        mem_mb=fixed_mem_mb("report_benchmarks"),
        runtime=runtime("report_figures"),
    params:
        benchmarks=benchmark_files(),
    script:
        "../scripts/report_benchmarks.py"
