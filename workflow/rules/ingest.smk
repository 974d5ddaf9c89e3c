rule ingest:
    input:
        ancient(TRACKED_INPUTS),
    output:
        **RESULTS.ingest.ingest_outputs(),
    log:
        "logs/ingest.log",
    benchmark:
        "logs/benchmarks/ingest.tsv"
    conda:
        conda_env("cpu")
    threads: 2
    resources:
        mem_mb=ingest_mem_mb(),
        runtime=runtime("ingest"),
    params:
        settings=settings_of("ingest"),
        fingerprint=INPUT_FINGERPRINT,
        files=input_files,
    script:
        "../scripts/ingest.py"
