"""Snakemake script: the seeds' partitions of one clustering -> their consensus."""

from deepclust.stages import logged, run_consensus

with logged(snakemake.log[0]):
    run_consensus(
        list(snakemake.input.labels),
        list(snakemake.input.metrics),
        snakemake.input.data,
        dict(snakemake.params.consensus),
        labels_out=snakemake.output.labels,
        metrics_out=snakemake.output.metrics,
        run=dict(snakemake.params.run),
    )
