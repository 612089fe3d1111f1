"""Snakemake script: one clustering run -> embedding, confusion matrix and sample grid."""

from deepclust.stages import logged, run_plot_run

w = snakemake.wildcards
with logged(snakemake.log[0]):
    run_plot_run(
        snakemake.input.data,
        snakemake.input.embedding,
        snakemake.input.labels,
        embedding_png=snakemake.output.embedding,
        confusion_png=snakemake.output.confusion,
        samples_png=snakemake.output.samples,
        seed=int(w.seed),
        title=f"{w.extractor} + {w.clusterer}, {w.dataset}, seed {w.seed}",
    )
