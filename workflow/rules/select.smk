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


# The input rows projected on the final descriptors (and config carry_columns), one file per input file.
rule reduce:
    input:
        final="results/final_descriptors.txt",
        data=INPUT_FILES,
    output:
        directory("results/reduced"),
    log:
        "logs/reduce.log",
    benchmark:
        "logs/benchmarks/reduce.tsv"
    conda:
        "../envs/cpu.yaml"
    resources:
        mem_mb=reduce_mem_mb(),
        runtime=runtime("reduce"),
    params:
        carry=config["carry_columns"],
    script:
        "../scripts/reduce.py"
