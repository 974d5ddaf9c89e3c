rule demo_data:
    output:
        DEMO_FILES,
    log:
        "logs/demo_data.log",
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/demo_data.py"
