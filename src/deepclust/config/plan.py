"""What a config means, worked out in one place: :func:`resolve` turns a config as written into
the :class:`Plan` the Snakefile, the ledger and the tests all read.

A key's way, one module a step, each failure one :class:`~deepclust.config.terms.ConfigError`
naming the key: ``blocks_from`` borrowed, ``extends`` resolved and the crossover grid expanded
(:mod:`.compose`); the schema's checks and defaults (:mod:`.schema`); ``only_experiments`` and
the sweeps expanded into named entries, validated again, and the runs (:mod:`.sweeps`); names
checked against the registries, cached (:mod:`.checks`); then a rule's params
(:meth:`Plan.params`, :mod:`.rerun`): one canonical spelling without the keys the schema marks
``x-rerun: false``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from deepclust import code_versions, paths
from deepclust.config.checks import cached_registry_facts, registry_facts
from deepclust.config.compose import compose, skipped_cells
from deepclust.config.files import read_files
from deepclust.config.rerun import canonical, result_params
from deepclust.config.schema import SCHEMA, rerun_free_keys, validate_schema
from deepclust.config.sweeps import (
    expand_sweeps,
    experiment_runs,
    select_experiments,
    sweep_groups,
)
from deepclust.config.terms import PIXELS, ConfigError, entry_of

#: the checkout's root (the Snakefile's folder) when the package runs from it
ROOT = Path(__file__).resolve().parents[3]
#: the report's name for the embedded config.yaml (no ``--configfile``, no ``name:``)
DEFAULT_NAME = "default"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")


def report_name(config: dict, configfiles: Sequence[str | Path] = ()) -> str:
    """Where this config's tables, figures, report and grouped folders go
    (``results/reports/{name}``): its ``name:``, else the stems of its ``--configfile`` files
    joined by ``+`` (``mfvc+mfvc_cpu``), else :data:`DEFAULT_NAME`. Two configs run one after
    the other keep both reports."""
    if config.get("name"):
        return config["name"]
    name = "+".join(Path(f).stem for f in configfiles) or DEFAULT_NAME
    if not _NAME.match(name):
        raise ConfigError(
            f"name: the config files {', '.join(map(str, configfiles))} give the report folder "
            f"name {name!r}, which is not one (letters, digits, _ . + - only); set `name:` in "
            "the config"
        )
    return name


@dataclass(frozen=True)
class Plan:
    """A resolved config and what the workflow builds from it.

    ``config``: composed, defaults filled, experiments selected, sweeps expanded (an expanded
    entry is named ``{entry}-{key}{value}`` and records ``swept``). ``sweeps``: per experiment
    that sweeps, its expanded experiments and their values. ``runs``: every (experiment,
    dataset, extractor, clusterer, seed). ``refiners``: clusterers that fine-tune a model.
    ``graphs``: the kNN graph (k, metric) each GCN clusterer reads. ``rerun_free``: per schema
    section, the keys that change no result. ``name``: the folder of this config's tables,
    report and grouped folders under ``results/reports/`` (:func:`report_name`).
    """

    config: dict
    sweeps: dict[str, dict[str, dict]]
    runs: list[dict]
    refiners: list[str]
    graphs: dict[str, dict]
    rerun_free: dict[str, frozenset[str]] = field(default_factory=dict)
    #: crossover cells left out because no clusterer could run them, by name, with why
    skipped: dict[str, str] = field(default_factory=dict)
    name: str = DEFAULT_NAME

    def params(self, section: str, name: str, stage: str | None = None) -> dict:
        """Entry ``name`` of config ``section`` (``extractors``, ...) as a rule's params; with
        ``stage``, its code's version once above 1 (:mod:`deepclust.code_versions`), so a
        change that alters that stage's results reruns it and what follows."""
        free = self.rerun_free.get(entry_of(section), frozenset())
        entry = self.config[section][name]
        if stage is not None and (code := code_versions.version(stage)) > 1:
            entry = {**entry, "code_version": code}
        return result_params(entry, free)

    @property
    def trained_extractors(self) -> list[str]:
        return [n for n, e in self.config["extractors"].items() if e["model"] != PIXELS]

    @property
    def feature_clusterers(self) -> list[str]:
        return [n for n in self.config["clusterers"] if n not in self.refiners]

    def metrics_files(self) -> list[str]:
        """Every clustering run's metrics.json, once each."""
        return sorted({paths.path("metrics", **r) for r in self.runs})

    def memberships(self) -> list[dict]:
        """Per clustering run, the experiment(s) asking for it ("+"-joined) and its swept values:
        the summary's experiment and swept columns. The run's own params never hold them, so a
        renamed experiment or a second config sharing the run reruns nothing."""
        names: dict[tuple, list[str]] = {}
        for r in self.runs:
            key = (r["dataset"], r["extractor"], r["clusterer"], r["seed"])
            names.setdefault(key, []).append(r["experiment"])
        rows = []
        for (dataset, extractor, clusterer, seed), experiments in sorted(names.items()):
            swept = {
                **self.config["extractors"][extractor].get("swept", {}),
                **self.config["clusterers"][clusterer].get("swept", {}),
            }
            rows.append(
                {
                    "dataset": dataset,
                    "extractor": extractor,
                    "clusterer": clusterer,
                    "seed": seed,
                    "experiment": "+".join(sorted(experiments)),
                    "swept": ";".join(f"{k}={v}" for k, v in sorted(swept.items())),
                }
            )
        return canonical(rows)

    @cached_property
    def consensus_groups(self) -> dict[tuple[str, str, str], list[int]]:
        """(dataset, extractor, clusterer) -> its seeds, for every clustering run on 2 or more
        seeds, when the config asks for a consensus over seeds (``consensus``)."""
        if self.config.get("consensus") is None:  # `consensus: {}` asks with the defaults
            return {}
        seeds: dict[tuple, set] = {}
        for r in self.runs:
            seeds.setdefault((r["dataset"], r["extractor"], r["clusterer"]), set()).add(r["seed"])
        return {key: sorted(found) for key, found in seeds.items() if len(found) >= 2}


def resolve(
    config: dict,
    base_dir: str | Path = ".",
    root: str | Path = ROOT,
    *,
    plan_cache: str | Path | None = None,
    configfiles: Sequence[str | Path] = (),
) -> Plan:
    """The :class:`Plan` of ``config`` (as Snakemake merged it, or as a file reads), each step
    once, in the order of a key's way.

    ``base_dir``: where relative paths of the config are looked up first (the working
    directory, as for ``--configfile``); ``root``: the workflow's folder (its bundled configs).
    ``plan_cache``: where the registry checks are cached between calls (the workflow's
    ``.snakemake/deepclust``), or ``None`` to check every time. ``configfiles``: the
    ``--configfile`` files it came from, which name its report (:func:`report_name`).
    """
    composed = compose(copy.deepcopy(config), base_dir, Path(root))
    skipped = skipped_cells(composed)
    config = validate_schema(composed, SCHEMA)
    config = select_experiments(config)
    sweeps = sweep_groups(config)
    expanded = expand_sweeps(config)
    runs = experiment_runs(expanded)
    if expanded != config:  # validated again only when sweeps made new entries
        config = validate_schema(expanded, SCHEMA)
    if plan_cache is not None:
        checked = cached_registry_facts(config, plan_cache)
    else:
        checked = registry_facts(config)
    return Plan(
        config=config,
        sweeps=sweeps,
        runs=runs,
        refiners=checked["refiners"],
        graphs=checked["graphs"],
        rerun_free=rerun_free_keys(SCHEMA),
        skipped=skipped,
        name=report_name(config, configfiles),
    )


def load(*files: str | Path, base_dir: str | Path = ".", root: str | Path = ROOT) -> Plan:
    """The :class:`Plan` of one config file, or of several merged in order as ``--configfile
    a.yaml b.yaml`` merges them (an overlay such as ``mfvc_cpu.yaml`` after its base), for tools
    outside Snakemake (the ledger)."""
    return resolve(read_files(*files), base_dir, root, configfiles=files)
