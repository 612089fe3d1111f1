"""A job's settings: the config values that reach a job without being its params.

A param is what Snakemake compares to rerun a job; a key the schema marks ``x-rerun: false``
(the device, ``compile``, download mirrors, ``checkpoint_every``, ``feature_batch_size``)
changes no result, so it stays out of the params (:meth:`deepclust.spec.Plan.params`) and a
script reads it here instead, from the job's config, in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepclust.rerun import rerun_free_keys

#: the wildcard naming a job's config entry -> its config section and schema section
ENTRY_WILDCARDS = {
    "extractor": ("extractors", "extractor"),
    "clusterer": ("clusterers", "clusterer"),
    "manifold": ("manifolds", "manifold"),
    "dataset": ("datasets", "dataset"),
}


def job_settings(job: Any) -> dict:
    """``{"device", "compile", "data", "entry"}`` of a Snakemake job (``snakemake`` in a
    script): the top-level speed settings, the download settings, and the rerun-free keys of
    the config entry its wildcards name (an extractor's, else a clusterer's, ...)."""
    config: Mapping = job.config
    wildcards = dict(job.wildcards.items()) if hasattr(job.wildcards, "items") else {}
    free = rerun_free_keys()
    entry: dict = {}
    for wildcard, (section, schema_section) in ENTRY_WILDCARDS.items():
        if wildcard in wildcards:
            values = config[section][wildcards[wildcard]]
            entry = {k: values[k] for k in sorted(free.get(schema_section, ())) if k in values}
            break
    return {
        "device": config.get("device", "auto"),
        "compile": config.get("compile", False),
        "data": dict(config.get("data") or {}),
        "entry": entry,
    }
