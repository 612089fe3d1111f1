"""Configs built from other configs: borrowed building blocks and the crossover grid.

``blocks_from`` lets a config use the datasets, networks, clusterers and manifolds other
configs define, by name, instead of restating them: the runs then share the cached jobs of those
configs (a result's path and params come from the entry's name and content). ``crossover`` asks
for every listed network x every listed clusterer as one experiment each, which no paper
ran (issue 22; ``workflow/configs/crossover.yaml``).

Both run on the config as Snakemake merged it, before ``extends`` and the schema, so that a
typo is reported against the key that holds it.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from deepclust.clustering.base import REFINERS
from deepclust.config.files import load_yaml
from deepclust.config.rerun import canonical
from deepclust.config.terms import BLOCK_SECTIONS, EXTENDABLE, ConfigError, refines_pixels

#: what joins a crossover experiment's name: ``{extractor}.{clusterer}``
PAIR_SEPARATOR = "."


def compose(
    config: dict, base_dir: str | Path = ".", workflow_dir: str | Path | None = None
) -> dict:
    """A config as the workflow reads it before the schema: blocks borrowed
    (:func:`borrow_blocks`), ``extends`` resolved, the crossover grid expanded."""
    return expand_crossover(resolve_extends(borrow_blocks(config, base_dir, workflow_dir)))


def borrow_blocks(
    config: dict, base_dir: str | Path = ".", workflow_dir: str | Path | None = None
) -> dict:
    """The config with the :data:`BLOCK_SECTIONS` entries of every file in ``blocks_from`` added.

    A relative path is looked up in ``base_dir`` (the working directory, as for
    ``--configfile``), then in ``workflow_dir`` (the Snakefile's folder: the bundled configs'
    ``workflow/configs/...`` are found whatever ``--directory`` says). Each
    file's entries are taken with their ``extends`` resolved within that file. A name defined by
    two files, or by a file and the config itself, must mean the same thing (compared in the
    canonical spelling, so key order and YAML style do not matter); otherwise a
    :class:`ConfigError` names the entry and both places, instead of one silently winning.
    Returns a new config; one without ``blocks_from`` comes back unchanged.
    """
    paths = config.get("blocks_from")
    if not paths:
        return config
    if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
        raise ConfigError(f"blocks_from: a list of config file paths, got {paths!r}")
    borrowed: dict[str, dict] = {section: {} for section in BLOCK_SECTIONS}
    origin: dict[tuple[str, str], str] = {}
    for path in paths:
        found = Path(base_dir) / path
        if not found.exists() and workflow_dir is not None:
            found = Path(workflow_dir) / path
        for section, name, entry in _blocks_of(found, path):
            where = origin.get((section, name))
            if where is not None and canonical(borrowed[section][name]) != canonical(entry):
                raise ConfigError(
                    f"blocks_from: {section}.{name} differs between {where} and {path}; "
                    "rename one of them"
                )
            borrowed[section][name] = entry
            origin.setdefault((section, name), path)

    merged = copy.copy(config)
    for section in BLOCK_SECTIONS:
        merged[section] = {**borrowed[section], **(config.get(section) or {})}
    own = resolve_extends(merged)  # an own entry may extend a borrowed one
    for section in BLOCK_SECTIONS:
        for name in (config.get(section) or {}).keys() & borrowed[section].keys():
            if canonical(own[section][name]) != canonical(borrowed[section][name]):
                raise ConfigError(
                    f"{section}.{name}: defined here and, differently, in "
                    f"{origin[(section, name)]} (blocks_from); rename one of them"
                )
    return merged


def _blocks_of(path: Path, shown: str):
    """(section, name, entry) for every building block of one config file, extends resolved."""
    try:
        data = load_yaml(path) or {}
    except FileNotFoundError:
        raise ConfigError(
            f"blocks_from: {shown!r} not found (a relative path is looked up in the working "
            "directory, then in the workflow's)"
        ) from None
    except yaml.YAMLError as err:
        raise ConfigError(f"blocks_from: {shown!r} is not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"blocks_from: {shown!r} is not a config (a mapping at the top)")
    if data.get("blocks_from"):
        raise ConfigError(f"blocks_from: {shown!r} borrows in turn; list its sources here instead")
    try:
        data = resolve_extends(data)
    except ConfigError as err:
        raise ConfigError(f"blocks_from: in {shown!r}: {err}") from None
    for section in BLOCK_SECTIONS:
        for name, entry in (data.get(section) or {}).items():
            yield section, name, entry


def resolve_extends(config: dict) -> dict:
    """The config with every entry that says ``extends: NAME`` replaced by entry NAME of the same
    section deep-merged with what the entry itself says: nested mappings (``model_args``,
    ``params``) merge key by key, anything else replaces. Keys keep the parent's order, new ones
    follow (the order YAML's ``<<:`` merge gives). Parents may extend in turn; an unknown parent
    or a cycle is a :class:`ConfigError` naming the key. Everything is inherited, a ``sweep``
    too (``sweep: null`` drops it). Runs before the schema, so it sees what was written, and
    works across ``--configfile`` overlays, which YAML anchors cannot reach.
    Returns a new config; one without ``extends`` comes back equal.
    """
    resolved = copy.copy(config)
    for section in EXTENDABLE:
        entries = config.get(section) or {}
        done: dict[str, dict] = {}

        def resolve(name: str, chain: list[str], section=section, entries=entries, done=done):
            if name not in done:
                entry = entries[name]
                parent = entry.get("extends") if isinstance(entry, dict) else None
                if parent is None:
                    done[name] = entry
                elif parent not in entries:
                    raise ConfigError(
                        f"{section}.{name}.extends: {parent!r} is not defined under {section}"
                    )
                elif parent in chain:
                    raise ConfigError(
                        f"{section}.{name}.extends: a cycle ({' -> '.join([*chain, parent])})"
                    )
                else:
                    own = {k: v for k, v in entry.items() if k != "extends"}
                    done[name] = _deep_merge(resolve(parent, [*chain, parent]), own)
            return done[name]

        if any(isinstance(e, dict) and "extends" in e for e in entries.values()):
            resolved[section] = {name: resolve(name, [name]) for name in entries}
    return resolved


def _deep_merge(base: dict, over: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def crossover_name(extractor: str, clusterer: str) -> str:
    """The experiment name of one crossover cell."""
    return f"{extractor}{PAIR_SEPARATOR}{clusterer}"


def expand_crossover(config: dict) -> dict:
    """The config with one experiment per (extractor, clusterer) of its ``crossover`` key.

    ``crossover: {extractors: [...], clusterers: [...], datasets: [...], seeds: [...],
    exclude: [pairs], papers: {pair: paper row}}``: each pair not excluded becomes experiment
    ``extractor.clusterer`` on the datasets and seeds given (default: the config's), with
    ``paper`` set where ``papers`` names the published row it stands for (the heatmap outlines
    those cells); a cell no clusterer could run is left out (:func:`skipped_cells`). Names must
    be defined; an experiment of the same name already defined is an
    error. Returns a new config; one without ``crossover`` comes back unchanged.
    """
    grid = config.get("crossover")
    if not grid:
        return config
    if not isinstance(grid, dict):
        raise ConfigError(f"crossover: a mapping (extractors, clusterers, ...), got {grid!r}")
    names = {}
    for section in ("extractors", "clusterers"):  # each lists names of its config section
        listed = grid.get(section)
        if not isinstance(listed, list) or not listed:
            raise ConfigError(f"crossover.{section}: a non-empty list of names under {section}")
        unknown = [n for n in listed if n not in (config.get(section) or {})]
        if unknown:
            raise ConfigError(
                f"crossover.{section}: {', '.join(map(repr, unknown))} not defined under {section}"
            )
        names[section] = listed
    pairs = [crossover_name(e, c) for e in names["extractors"] for c in names["clusterers"]]
    for key in ("exclude", "papers"):
        stray = [p for p in grid.get(key) or [] if p not in pairs]
        if stray:
            raise ConfigError(
                f"crossover.{key}: {', '.join(map(repr, stray))} is not a pair of the grid "
                f"(extractor{PAIR_SEPARATOR}clusterer)"
            )
    experiments = dict(config.get("experiments") or {})
    skipped = skipped_cells(config)
    for extractor in names["extractors"]:
        for clusterer in names["clusterers"]:
            name = crossover_name(extractor, clusterer)
            if name in (grid.get("exclude") or []) or name in skipped:
                continue
            if name in experiments:
                raise ConfigError(
                    f"crossover: experiment {name!r} is also defined under experiments"
                )
            experiment = {"extractor": extractor, "clusterer": clusterer}
            for key in ("datasets", "seeds"):
                if grid.get(key):
                    experiment[key] = list(grid[key])
            if name in (grid.get("papers") or {}):
                experiment["paper"] = grid["papers"][name]
            experiments[name] = experiment
    expanded = copy.copy(config)
    expanded["experiments"] = experiments
    return expanded


def skipped_cells(config: dict) -> dict[str, str]:
    """The cells of a config's crossover grid that no clusterer could run, by name, with why:
    a clusterer that fine-tunes a trained model paired with raw pixels. The grid leaves them out
    (the workflow says so when it parses) instead of stopping on an experiment nobody wrote."""
    grid = config.get("crossover") or {}
    extractors, clusterers = config.get("extractors") or {}, config.get("clusterers") or {}
    skipped = {}
    for extractor in grid.get("extractors") or []:
        for clusterer in grid.get("clusterers") or []:
            name = crossover_name(extractor, clusterer)
            method = (clusterers.get(clusterer) or {}).get("method")
            pair = (extractors.get(extractor) or {}, clusterers.get(clusterer) or {})
            if refines_pixels(*pair, REFINERS):
                skipped[name] = (
                    f"{method!r} fine-tunes a trained model; {extractor!r} is raw pixels"
                )
    return skipped
