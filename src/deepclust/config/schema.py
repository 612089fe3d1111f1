"""The config schema: every key's type, range, default and whether it changes a result.

:func:`validate_schema` checks a config against it and fills its defaults (Snakemake's own
``validate``); a failure is one line naming the key. :func:`rerun_free_keys` reads which keys
the schema marks ``x-rerun: false`` (settings that change no result, kept out of the params).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import yaml

from deepclust.config.terms import ConfigError

#: the config schema; it ships with the package (``workflow/schemas/config.schema.yaml`` links to
#: it, Snakemake's place)
SCHEMA = Path(__file__).with_name("schema.yaml")
#: the schema annotation of a key that changes no result
ANNOTATION = "x-rerun"


def schema_error(err: Exception) -> str:
    """A schema validation failure as one line naming the key: ``extractors.ae.epochs: 0 is less
    than the minimum of 1``. Snakemake wraps jsonschema's error, whose printout runs to pages."""
    cause: BaseException | None = err
    while cause is not None:  # Snakemake raises its error while handling jsonschema's
        if hasattr(cause, "absolute_path") and hasattr(cause, "message"):
            key = ".".join(str(part) for part in cause.absolute_path)
            return f"{key}: {cause.message}" if key else cause.message
        cause = cause.__cause__ or cause.__context__
    return str(err)


def validate_schema(config: dict, schema: str | Path) -> dict:
    """``config`` checked against the JSON schema, the schema's defaults filled in (in place,
    as Snakemake's ``validate`` does; the same function). A failure is one line naming the key."""
    from snakemake.exceptions import WorkflowError
    from snakemake.utils import validate

    try:
        validate(config, str(schema))
    except WorkflowError as err:
        raise ConfigError(schema_error(err)) from None
    return config


def rerun_free_keys(schema: Mapping | str | os.PathLike) -> dict[str, frozenset[str]]:
    """``{section: keys}`` marked ``x-rerun: false``; a section is a ``$defs`` entry (dataset,
    extractor, clusterer, manifold) or a top-level mapping key (data)."""
    if not isinstance(schema, Mapping):
        schema = yaml.load(
            Path(schema).read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        )
    sections = {**schema.get("$defs", {}), **schema.get("properties", {})}
    free = {}
    for section, spec in sections.items():
        properties = spec.get("properties", {}) if isinstance(spec, Mapping) else {}
        keys = frozenset(k for k, p in properties.items() if p.get(ANNOTATION) is False)
        if keys:
            free[section] = keys
    return free
