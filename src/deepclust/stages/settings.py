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
from deepclust.spec import SCHEMA, SECTION_DEFS

#: the config sections whose entry a job's wildcards may name, the most specific first: a
#: refine job names a clusterer, an extractor and a dataset, and its entry is the clusterer's
ENTRY_SECTIONS = ("clusterers", "manifolds", "extractors", "datasets")


def job_settings(job: Any) -> dict:
    """``{"device", "compile", "data", "entry"}`` of a Snakemake job (``snakemake`` in a
    script): the top-level speed settings, the download settings, and the rerun-free keys of
    the config entry its wildcards name (:data:`ENTRY_SECTIONS`)."""
    config: Mapping = job.config
    wildcards = dict(job.wildcards.items()) if hasattr(job.wildcards, "items") else {}
    free = rerun_free_keys(SCHEMA)
    entry: dict = {}
    for section in ENTRY_SECTIONS:
        wildcard = SECTION_DEFS[section]  # the schema's name for an entry is its wildcard's
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
