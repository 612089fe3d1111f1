"""Snakemake script: every run's metrics.json -> summary.csv (per run) and table.csv / table.md
(per dataset x experiment, with the papers' numbers) in results/reports/{name}/."""

from deepclust.stages import logged, run_aggregate

with logged(snakemake.log[0]):
    run_aggregate(
        list(snakemake.input.metrics),
        snakemake.output.summary,
        table_csv=snakemake.output.table,
        table_md=snakemake.output.markdown,
        paper_values=snakemake.input.paper_values,
        paper_names=snakemake.params.paper_names,
        runs=snakemake.params.runs,
        consensus=list(snakemake.input.consensus),
        graphs=dict(snakemake.params.graphs),
        sweeps=snakemake.params.sweeps,
    )
