rule select:
    input:
        survivors=final_survivors(),
    output:
        final=report(
            "results/final_descriptors.txt",
            caption="../report/final_descriptors.rst",
            category="Result",
        ),
    log:
        "logs/select.log",
    localrule: True
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime("select"),
    script:
        "../scripts/select.py"
