"""A job's settings: the config values that reach a job without being its params.

A param is what Snakemake compares to rerun a job; a key the schema marks ``x-rerun: false``
(the device, ``compile``, download mirrors, ``checkpoint_every``, ``feature_batch_size``)
changes no result, so it stays out of the params (:meth:`deepclust.config.Plan.params`) and a
script reads it here instead, from the job's config, in this one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from deepclust.config.schema import SCHEMA, rerun_free_keys
from deepclust.config.terms import SECTIONS


def job_settings(job: Any) -> dict:
    """``{"device", "compile", "data", "entry"}`` of a Snakemake job (``snakemake`` in a
    script): the top-level speed settings, the download settings, and the rerun-free keys of
    the config entry its wildcards name: the last of the sections in the pipeline's order
    (:data:`~deepclust.config.terms.SECTIONS`) that they name, a refine job's clusterer."""
    config: Mapping = job.config
    wildcards = dict(job.wildcards.items()) if hasattr(job.wildcards, "items") else {}
    free = rerun_free_keys(SCHEMA)
    entry: dict = {}
    for section in reversed(SECTIONS):
        wildcard = SECTIONS[section].entry  # the schema's name for an entry is its wildcard's
        if wildcard in wildcards:
            values = config[section][wildcards[wildcard]]
            entry = {k: values[k] for k in sorted(free.get(wildcard, ())) if k in values}
            break
    return {
        "device": config.get("device", "auto"),
        "compile": config.get("compile", False),
        "data": dict(config.get("data") or {}),
        "entry": entry,
    }
