"""Snakemake script: a pretraining log -> its loss curves."""

from deepclust.plots import training_figure
from deepclust.stages import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    training_figure(
        snakemake.input[0],
        snakemake.output[0],
        title=f"{w.extractor} on {w.dataset}, seed {w.seed}",
    )
