"""Snakemake script: raw data -> data/processed/{dataset}.h5 (see deepclust.data.preprocess)."""

from deepclust.stages import logged, run_preprocess

with logged(snakemake.log[0]):
    run_preprocess(
        snakemake.wildcards.dataset,
        dict(snakemake.params.dataset),
        snakemake.output[0],
        manifest=snakemake.input.get("manifest"),
    )
