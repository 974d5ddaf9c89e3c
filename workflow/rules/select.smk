rule select:
    input:
        survivors=final_survivors(),
    output:
        final=report(
            "results/final_descriptors.txt",
            caption="../report/final_descriptors.rst",
            category="3. Results",
            labels={"result": "final descriptor list"},
        ),
    log:
        "logs/select.log",
    benchmark:
        "logs/benchmarks/select.tsv"
    localrule: True
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=1000,
        runtime=runtime("select"),
    script:
        "../scripts/select.py"
