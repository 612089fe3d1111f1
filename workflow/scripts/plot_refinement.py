"""Snakemake script: a refining clusterer's per-iteration log -> its curves."""

from deepclust.plots import refinement_figure
from deepclust.stages import logged

w = snakemake.wildcards
with logged(snakemake.log[0]):
    refinement_figure(
        snakemake.input[0],
        snakemake.output[0],
        title=f"{w.clusterer} on {w.extractor}, {w.dataset}, seed {w.seed}",
    )
