"""Snakemake script: encode the whole dataset (see deepclust.features)."""

from deepclust.stages import logged, run_features

with logged(snakemake.log[0], threads=snakemake.threads):
    run_features(
        snakemake.input.data,
        dict(snakemake.params.extractor),
        snakemake.output[0],
        device=snakemake.config["device"],
        model_path=snakemake.input.get("model"),
        threads=snakemake.threads,
        # a setting, not a param (schema x-rerun: false): changing it reruns nothing
        batch_size=snakemake.config["extractors"][snakemake.wildcards.extractor][
            "feature_batch_size"
        ],
    )
