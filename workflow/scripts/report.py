"""Snakemake script: tables, figures, config, versions and job runtimes -> results/report.html."""

import glob
import json

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
        benchmarks=[  # this config's jobs only
            path
            for path in glob.glob("results/benchmarks/**/*.tsv", recursive=True)
            if path.removeprefix("results/benchmarks/").startswith(
                tuple(snakemake.params.benchmarks)
            )
        ],
        benchmark_root="results/benchmarks",
    )
