"""Snakemake script: networks x clusterers, mean ACC, for one dataset (see deepclust.stages.figures)."""

from deepclust.stages import logged, run_plot_crossover

with logged(snakemake.log[0]):
    run_plot_crossover(
        snakemake.input.summary,
        snakemake.input.table,
        snakemake.wildcards.dataset,
        snakemake.output[0],
        order=snakemake.params.order,
    )
