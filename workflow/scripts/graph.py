"""Snakemake script: the kNN graph of a dataset for GCN clustering (see deepclust.clustering.graph)."""

from deepclust.stages import job_settings, logged, run_graph

with logged(snakemake.log[0], threads=snakemake.threads):
    run_graph(
        snakemake.input[0],
        snakemake.output[0],
        k=int(snakemake.wildcards.k),
        metric=snakemake.wildcards.metric,
        threads=snakemake.threads,
        device=job_settings(snakemake)["device"],
    )
