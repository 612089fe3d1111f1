"""Snakemake script: fetch a built-in dataset's raw files (see deepclust.data.sources)."""

from pathlib import Path

from deepclust.stages import job_settings, logged, run_download

settings = job_settings(snakemake)  # not params: changing one reruns nothing

with logged(snakemake.log[0]):
    run_download(
        snakemake.wildcards.source,
        str(Path(snakemake.output.manifest).parent),
        snakemake.output.manifest,
        mirror=settings["data"]["mirror"],
        retries=settings["data"]["retries"],
    )
