rule select:
    input:
        survivors=final_survivors(),
    output:
        final=report(
            str(RESULTS.final_list),
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
        conda_env("cpu")
    resources:
        mem_mb=fixed_mem_mb("select"),
        runtime=runtime("select"),
    script:
        "../scripts/select.py"


# The input rows projected on the carried columns (config carry_columns; by default every column that
# is no descriptor, from ingest's statistics) and the final descriptors, one file per input file.
rule reduce:
    input:
        final=str(RESULTS.final_list),
        stats=str(RESULTS.ingest.column_stats),
        data=ancient(TRACKED_INPUTS),
    output:
        directory(str(RESULTS.reduced)),
    log:
        "logs/reduce.log",
    benchmark:
        "logs/benchmarks/reduce.tsv"
    conda:
        conda_env("cpu")
    resources:
        mem_mb=reduce_mem_mb(),
        runtime=runtime("reduce"),
    params:
        settings=settings_of("reduce"),
        fingerprint=INPUT_FINGERPRINT,
        files=input_files,
    script:
        "../scripts/reduce.py"


# With config stability_seeds, the dependence passes again under each of those seeds, on the same row
# sample: how much the final set depends on the seed (Jaccard indices, descriptors whose fate flips).
rule stability:
    input:
        sample=str(RESULTS.ingest.sample),
        stats=str(RESULTS.ingest.column_stats),
        survivors=str(RESULTS.ingest.survivors),
        final=str(RESULTS.final_list),
        report=str(RESULTS.cluster_report),
    output:
        report(
            str(RESULTS.stability),
            caption="../report/stability.rst",
            category="3. Results",
            labels={"result": "stability across seeds (JSON)"},
        ),
    log:
        "logs/stability.log",
    benchmark:
        "logs/benchmarks/stability.tsv"
    conda:
        pass_env()
    threads: 2
    resources:
        mem_mb=max_pass_mem_mb(),
        runtime=runtime("stability"),
        gpu=pass_gpus(),
    params:
        settings=settings_of("stability"),
    script:
        "../scripts/stability.py"
