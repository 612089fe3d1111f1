"""Snakemake script: fetch a built-in dataset's raw files (see deepclust.data.sources)."""

from pathlib import Path

from deepclust.stages import logged, run_download

with logged(snakemake.log[0]):
    run_download(
        snakemake.wildcards.source,
        str(Path(snakemake.output.manifest).parent),
        snakemake.output.manifest,
        mirror=snakemake.config["data"]["mirror"],
        retries=snakemake.config["data"]["retries"],
    )
