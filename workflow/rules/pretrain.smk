# GPU rules declare resources gpu=1, so `--resources gpu=1` runs one at a time on one GPU.
# The checkpoint is not an output: Snakemake never deletes it, and a restarted job resumes from it.
# Pretraining goes first when jobs wait for cores: the trainings are the longest jobs, and a
# training started after most clustering jobs would set the run's end.


rule pretrain:
    input:
        data=PATHS["processed"],
    output:
        model=PATHS["model"],
        train_log=PATHS["train_log"],
    params:
        extractor=lambda w: PLAN.params("extractors", w.extractor, "pretrain"),
        checkpoint=PATHS["checkpoint"],
    wildcard_constraints:
        extractor=_alternatives(TRAINED_EXTRACTORS),
    threads: config["threads"]["pretrain"]
    priority: 10
    resources:
        gpu=1,
    log:
        job_log("pretrain"),
    benchmark:
        job_benchmark("pretrain"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/pretrain.py"


rule features:
    input:
        unpack(features_inputs),
    output:
        PATHS["features"],
    params:
        extractor=lambda w: PLAN.params("extractors", w.extractor, "features"),
    threads: config["threads"]["features"]
    resources:
        gpu=1,
    log:
        job_log("features"),
    benchmark:
        job_benchmark("features"),
    conda:
        "../../envs/deepclust.yaml"
    script:
        "../scripts/features.py"
