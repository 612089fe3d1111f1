# data.mirror and data.retries are read from the config by the script: where a file came from
# (its checksum is verified) changes nothing downstream, so they are not params.
rule download:
    output:
        manifest=PATHS["manifest"],
    log:
        job_log("download"),
    benchmark:
        job_benchmark("download"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/download.py"


rule preprocess:
    input:
        unpack(preprocess_inputs),
    output:
        PATHS["processed"],
    params:
        dataset=preprocess_params,
    log:
        job_log("preprocess"),
    benchmark:
        job_benchmark("preprocess"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/preprocess.py"
