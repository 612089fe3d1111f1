# GPU rules declare resources gpu=1, so `--resources gpu=1` runs one at a time on one GPU.
# The checkpoint is not an output: Snakemake never deletes it, and a restarted job resumes from it.


rule pretrain:
    input:
        data="data/processed/{dataset}.h5",
    output:
        model=f"{RUN_DIR}/model.pt",
        train_log=f"{RUN_DIR}/train_log.csv",
    params:
        extractor=lambda w: PLAN.params("extractors", w.extractor, "pretrain"),
        checkpoint=f"{RUN_DIR}/checkpoint.pt",
    wildcard_constraints:
        extractor=_alternatives(TRAINED_EXTRACTORS),
    threads: config["threads"]["pretrain"]
    resources:
        gpu=1,
    log:
        f"results/logs/pretrain/{{dataset}}/{{extractor}}/seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/pretrain/{{dataset}}/{{extractor}}/seed{{seed}}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/pretrain.py"


rule features:
    input:
        unpack(features_inputs),
    output:
        f"{RUN_DIR}/features.h5",
    params:
        extractor=lambda w: PLAN.params("extractors", w.extractor, "features"),
    threads: config["threads"]["features"]
    resources:
        gpu=1,
    log:
        f"results/logs/features/{{dataset}}/{{extractor}}/seed{{seed}}.log",
    benchmark:
        f"results/benchmarks/features/{{dataset}}/{{extractor}}/seed{{seed}}.tsv"
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/features.py"
