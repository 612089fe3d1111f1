rule download:
    output:
        manifest="data/raw/{source}/manifest.json",
    params:
        mirror=config["data"]["mirror"],
        retries=config["data"]["retries"],
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
        dataset=dataset_params,
    log:
        "results/logs/preprocess/{dataset}.log",
    benchmark:
        "results/benchmarks/preprocess/{dataset}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/preprocess.py"
