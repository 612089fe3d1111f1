"""Snakemake script: one network's features -> their 2-D UMAP, which every run's figure reuses."""

from deepclust.stages import logged, run_embed_2d

with logged(snakemake.log[0]):
    run_embed_2d(snakemake.input[0], snakemake.output[0], seed=int(snakemake.wildcards.seed))
