"""Snakemake script: train an extractor (see deepclust.training)."""

from deepclust.stages import logged, run_pretrain

with logged(snakemake.log[0], threads=snakemake.threads):
    run_pretrain(
        snakemake.input.data,
        dict(snakemake.params.extractor),
        seed=int(snakemake.wildcards.seed),
        device=snakemake.config["device"],
        model_path=snakemake.output.model,
        log_csv=snakemake.output.train_log,
        checkpoint_path=snakemake.params.checkpoint,
        threads=snakemake.threads,
        compile=snakemake.config["compile"],
        # a setting, not a param (schema x-rerun: false): changing it reruns nothing
        checkpoint_every=snakemake.config["extractors"][snakemake.wildcards.extractor][
            "checkpoint_every"
        ],
    )
