"""Snakemake script: train an extractor (see deepclust.training)."""

from deepclust.stages import job_settings, logged, run_pretrain

settings = job_settings(snakemake)  # not params: changing one reruns nothing

with logged(snakemake.log[0], threads=snakemake.threads):
    run_pretrain(
        snakemake.input.data,
        dict(snakemake.params.extractor),
        seed=int(snakemake.wildcards.seed),
        device=settings["device"],
        model_path=snakemake.output.model,
        log_csv=snakemake.output.train_log,
        checkpoint_path=snakemake.params.checkpoint,
        threads=snakemake.threads,
        compile=settings["compile"],
        checkpoint_every=settings["entry"]["checkpoint_every"],
    )
