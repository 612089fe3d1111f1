"""Snakemake script: every run's metrics.json -> results/summary.csv."""

from deepclust.stages import logged, run_aggregate

with logged(snakemake.log[0]):
    run_aggregate(list(snakemake.input), snakemake.output[0])
