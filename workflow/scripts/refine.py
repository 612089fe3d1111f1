"""Snakemake script: fine-tune a pretrained model while clustering (see deepclust.clustering.refine)."""

from deepclust.stages import job_settings, logged, run_refine

with logged(snakemake.log[0], threads=snakemake.threads):
    run_refine(
        snakemake.input.data,
        snakemake.input.model,
        dict(snakemake.params.clusterer),
        seed=int(snakemake.wildcards.seed),
        device=job_settings(snakemake)["device"],
        labels_out=snakemake.output.labels,
        metrics_out=snakemake.output.metrics,
        model_out=snakemake.output.model,
        log_csv=snakemake.output.refine_log,
        run=dict(snakemake.params.run),
        graph_h5=snakemake.input.get("graph"),
        threads=snakemake.threads,
    )
