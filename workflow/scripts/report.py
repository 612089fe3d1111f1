"""Snakemake script: tables, figures, config, versions and job runtimes -> the report
(results/reports/{name}/report.html)."""

import json
from pathlib import Path

from deepclust.html_report import write_report
from deepclust.stages import logged

with logged(snakemake.log[0]):
    first = json.load(open(snakemake.input.metrics[0])) if snakemake.input.metrics else {}
    write_report(
        snakemake.output[0],
        table_csv=snakemake.input.table,
        runs=snakemake.params.runs,
        config=snakemake.config,
        environment=first.get("environment"),
        # this config's jobs only, those that ran (a pixels run has no pretraining)
        benchmarks=[path for path in snakemake.params.benchmarks if Path(path).exists()],
        title=f"deepclust results: {snakemake.wildcards.name}",
        sweeps=snakemake.params.sweeps,
    )
