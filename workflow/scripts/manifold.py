"""Snakemake script: embed features with a manifold learner (see deepclust.clustering.manifold)."""

from deepclust.stages import logged, run_manifold

with logged(snakemake.log[0], threads=snakemake.threads):
    run_manifold(
        snakemake.input.features,
        dict(snakemake.params.manifold),
        snakemake.output[0],
        seed=int(snakemake.wildcards.seed),
        threads=snakemake.threads,
    )
