"""Snakemake script: the results table -> a metric against one experiment's swept values."""

from deepclust.stages import logged, run_plot_sweep

with logged(snakemake.log[0]):
    run_plot_sweep(snakemake.input[0], snakemake.params.group, snakemake.output[0])
