# data.mirror and data.retries are read from the config by the script: where a file came from
# (its checksum is verified) changes nothing downstream, so they are not params.
rule download:
    output:
        manifest="data/raw/{source}/manifest.json",
    log:
        "results/logs/download/{source}.log",
    benchmark:
        "results/benchmarks/download/{source}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/download.py"


rule preprocess:
    input:
        unpack(preprocess_inputs),
    output:
        "data/processed/{dataset}.h5",
    params:
        dataset=preprocess_params,
    log:
        "results/logs/preprocess/{dataset}.log",
    benchmark:
        "results/benchmarks/preprocess/{dataset}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/preprocess.py"
