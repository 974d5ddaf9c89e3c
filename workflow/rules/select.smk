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
    conda:
        "../envs/cpu.yaml"
    script:
        "../scripts/select.py"
