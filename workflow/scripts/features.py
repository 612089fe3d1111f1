"""Snakemake script: encode the whole dataset (see deepclust.features)."""

from deepclust.stages import job_settings, logged, run_features

settings = job_settings(snakemake)  # not params: changing one reruns nothing

with logged(snakemake.log[0], threads=snakemake.threads):
    run_features(
        snakemake.input.data,
        dict(snakemake.params.extractor),
        snakemake.output[0],
        device=settings["device"],
        model_path=snakemake.input.get("model"),
        threads=snakemake.threads,
        batch_size=settings["entry"]["feature_batch_size"],
    )
