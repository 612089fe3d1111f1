"""What makes Snakemake rerun a job: the params each rule hands it, in one canonical spelling.

Snakemake records ``repr`` of every param of a finished job and reruns the job when today's
differ. A dict's ``repr`` follows its key order, so a config re-ordered or re-formatted (say,
rewritten by ``yaml.safe_dump``) would rerun everything. The rules therefore get
:func:`result_params`: mapping keys sorted at every level, tuples as lists, and without the keys
the schema marks ``x-rerun: false`` (checkpoint frequency, batch size of inference, download
mirrors: settings that do not change a result). The scripts read those through
:func:`deepclust.stages.job_settings`.

Results recorded before this spelling are upgraded in place, values untouched, by
``python -m deepclust.config upgrade`` (see :func:`upgrade_metadata`).
"""

from __future__ import annotations

import ast
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from deepclust.clustering.base import RENAMED_PARAMS
from deepclust.config.schema import SCHEMA, rerun_free_keys
from deepclust.config.terms import RULE_ENTRIES
from deepclust.data.fingerprint import content_digest
from deepclust.io import write_text

#: rules whose every param was a rerun-free setting before (download: data.mirror, data.retries)
RULES_WITHOUT_PARAMS = frozenset({"download"})
#: rules whose `run` param once named the experiments asking for the run and its swept values
#: (MEMBERSHIP_KEYS); they moved to the aggregate rule, so a config that shares a run (another
#: experiment name, a crossover grid) does not rerun it
CLUSTERING_RULES = frozenset({"cluster", "refine"})
MEMBERSHIP_KEYS = frozenset({"experiment", "swept"})
#: values that a later version spells differently for the same run, per section and key: the
#: extractor's ``amp: true`` (the default until 2026-12) meant bf16 on bf16 GPUs and float32 on
#: every CPU, which is what ``amp: auto`` computes on any machine whose CPU lacks native bf16
RESPELLED_VALUES = {"extractor": {"amp": {True: "auto"}}}
#: keys that a later version spells differently, per section: a clusterer's parameters renamed
#: (:data:`deepclust.clustering.base.RENAMED_PARAMS`: the config refuses the old spelling)
RESPELLED_KEYS = {"clusterer": RENAMED_PARAMS}


def canonical(value: Any) -> Any:
    """``value`` with mapping keys sorted at every level and tuples as lists: one ``repr`` per
    value, whatever order or YAML style it was written in."""
    if isinstance(value, Mapping):
        return {k: canonical(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    return value


def result_params(entry: Mapping, free: frozenset[str] | set[str] = frozenset()) -> dict:
    """A config entry as a rule's param: its keys that change a result, canonical."""
    return canonical({k: v for k, v in entry.items() if k not in free})


def upgrade_params(
    rule: str,
    params: list[str],
    free: Mapping[str, frozenset[str]],
    content: Callable[[str], str | None] | None = None,
) -> list[str]:
    """One finished job's recorded params as this version spells them: each value parsed, made
    :func:`canonical`, its section's rerun-free keys dropped, an old spelling of a value
    (:data:`RESPELLED_VALUES`) or of a parameter's name (:data:`RESPELLED_KEYS`) respelled; a value that is not a literal stays as recorded.
    Meanings are never changed, so a job whose config changed still reruns. ``content`` gives
    own data's digest at a path (``None`` when it is not there): preprocessing recorded before
    own data was fingerprinted gets today's (:mod:`deepclust.data.fingerprint`), which takes the
    data there now for the data that run read."""
    if rule in RULES_WITHOUT_PARAMS:
        return []
    section = RULE_ENTRIES.get(rule, "")
    drop = free.get(section, frozenset())
    respell = RESPELLED_VALUES.get(section, {})
    rename = RESPELLED_KEYS.get(section, {})
    upgraded = []
    for text in params:
        try:
            value = ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            upgraded.append(text)
            continue
        if isinstance(value, Mapping):
            value = {
                k: respell.get(k, {}).get(v, v) if isinstance(v, bool) else v
                for k, v in value.items()
                if k not in drop
            }
            if isinstance(value.get("params"), Mapping):  # a clusterer entry's own parameters
                value["params"] = {rename.get(k, k): v for k, v in value["params"].items()}
            if rule in CLUSTERING_RULES and "extractor" in value:  # the `run` param
                value = {k: v for k, v in value.items() if k not in MEMBERSHIP_KEYS}
            if rule == "preprocess" and value.get("path") and "content" not in value and content:
                if (digest := content(value["path"])) is not None:
                    value["content"] = digest
        upgraded.append(repr(canonical(value)))
    return sorted(upgraded)  # Snakemake stores them sorted


def upgrade_metadata(
    workdir: str | os.PathLike = ".", schema: Mapping | str | os.PathLike | None = None
) -> tuple[int, int]:
    """Rewrite the params recorded in ``{workdir}/.snakemake/metadata`` in today's spelling, so
    results built before it are not rerun. ``schema``: the config schema (by default the
    package's, :data:`deepclust.config.schema.SCHEMA`). Refuses while a Snakemake run holds the
    directory's lock. Snakemake's default (file) metadata only. Returns (records rewritten,
    records read)."""
    if schema is None:
        schema = SCHEMA
    if not (Path(workdir) / ".snakemake").is_dir():
        raise FileNotFoundError(f"{workdir}: no .snakemake folder here (not a workflow's folder)")
    root = Path(workdir) / ".snakemake"
    locks = root / "locks"
    if locks.is_dir() and any(locks.iterdir()):
        raise RuntimeError(
            f"{locks}: a Snakemake run holds this directory; let it finish (or `snakemake --unlock`)"
        )
    free = rerun_free_keys(schema)

    def own_content(path: str) -> str | None:
        try:
            return content_digest(Path(workdir) / path)  # an absolute path stays itself
        except FileNotFoundError:
            return None

    rewritten = read = 0
    # one file per output; a long path's record sits in sub-folders of its name's parts
    for path in sorted(p for p in (root / "metadata").rglob("*") if p.is_file()):
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # not a record of a finished job: Snakemake's own business
        read += 1
        params = record.get("params")
        if not isinstance(params, list) or not isinstance(record.get("rule"), str):
            continue
        upgraded = upgrade_params(record["rule"], params, free, own_content)
        if upgraded != params:
            record["params"] = upgraded
            write_text(path, json.dumps(record))
            rewritten += 1
    return rewritten, read
