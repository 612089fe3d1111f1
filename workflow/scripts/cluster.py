"""Snakemake script: cluster features and score them (see deepclust.clustering, deepclust.metrics)."""

from deepclust.stages import logged, run_cluster

with logged(snakemake.log[0], threads=snakemake.threads):
    run_cluster(
        snakemake.input.features,
        dict(snakemake.params.clusterer),
        seed=int(snakemake.wildcards.seed),
        labels_out=snakemake.output.labels,
        metrics_out=snakemake.output.metrics,
        run=dict(snakemake.params.run),
    )
