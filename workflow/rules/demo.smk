rule demo_data:
    output:
        DEMO_FILES,
    log:
        "logs/demo_data.log",
    benchmark:
        "logs/benchmarks/demo_data.tsv"
    localrule: True
    conda:
        conda_env("cpu")
    resources:
        mem_mb=fixed_mem_mb("demo_data"),
        runtime=runtime("demo_data"),
    script:
        "../scripts/demo_data.py"
