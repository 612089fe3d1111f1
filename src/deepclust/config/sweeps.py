"""From experiments to runs: ``only_experiments`` selected, sweeps expanded into named entries, and
every (experiment, dataset, extractor, clusterer, seed) the result asks for.
"""

from __future__ import annotations

import copy
import itertools

from deepclust.config.terms import ConfigError


def select_experiments(config: dict) -> dict:
    """The config with only the experiments named in ``only_experiments`` (all when it is null).

    Configs merge key by key, so an overlay cannot delete the base config's experiments; it names
    the ones to run instead. Returns a new config; an unknown name raises :class:`ConfigError`.
    """
    only = config.get("only_experiments")
    if only is None:
        return config
    unknown = [name for name in only if name not in config["experiments"]]
    if unknown:
        known = ", ".join(config["experiments"])
        raise ConfigError(
            f"only_experiments: {', '.join(map(repr, unknown))} not defined under experiments; "
            f"known: {known}"
        )
    selected = copy.copy(config)
    selected["experiments"] = {name: config["experiments"][name] for name in only}
    return selected


def expand_sweeps(config: dict) -> dict:
    """Expand every extractor or clusterer with a ``sweep`` into one entry per value.

    ``sweep`` maps a dotted key of the entry (``model_args.lam``, ``params.n_init``, ``epochs``)
    to a list of values; several keys sweep their full grid. Variant ``ascae`` with
    ``sweep: {model_args.lam: [0, 20]}`` becomes ``ascae-lam0`` and ``ascae-lam20``, each
    recording ``swept: {model_args.lam: value}``, and every experiment using it expands with
    it. Returns a new config; one without sweeps comes back equal.
    """
    return _expand(config)[0]


def sweep_groups(config: dict) -> dict[str, dict[str, dict]]:
    """For every experiment of an *unexpanded* config that sweeps: its expanded experiments and
    the values each one takes, ``{experiment: {expanded name: {dotted key: value}}}`` (the
    report plots a metric against them)."""
    return _expand(config)[1]


def experiment_runs(config: dict) -> list[dict]:
    """Every (experiment, dataset, extractor, clusterer, seed) the config asks for."""
    runs = []
    for name, exp in config["experiments"].items():
        for dataset in exp.get("datasets") or list(config["datasets"]):
            for seed in exp.get("seeds") or config["seeds"]:
                runs.append(
                    {
                        "experiment": name,
                        "dataset": dataset,
                        "extractor": exp["extractor"],
                        "clusterer": exp["clusterer"],
                        "seed": seed,
                    }
                )
    return runs


def _expand(config: dict) -> tuple[dict, dict[str, dict[str, dict]]]:
    config = copy.deepcopy(config)
    suffixes: dict[str, dict[str, list[str]]] = {}  # section -> entry -> its variants' suffixes
    for section in ("extractors", "clusterers"):
        expanded, suffixes[section] = {}, {}
        for name, entry in config.get(section, {}).items():
            sweep = entry.pop("sweep", None) or {}
            if not sweep:
                expanded[name] = entry
                suffixes[section][name] = [""]
                continue
            suffixes[section][name] = []
            for values in itertools.product(*sweep.values()):
                swept = dict(zip(sweep, values, strict=True))
                variant = copy.deepcopy(entry)
                for key, value in swept.items():
                    _set_dotted(variant, key, value, f"{section}.{name}.sweep")
                variant["swept"] = swept
                suffix = "-".join(
                    f"{key.rsplit('.', 1)[-1]}{_name_part(value)}" for key, value in swept.items()
                )
                expanded[f"{name}-{suffix}"] = variant
                suffixes[section][name].append(suffix)
        config[section] = expanded
    experiments, groups = {}, {}
    for name, exp in config.get("experiments", {}).items():
        extractor_suffixes = suffixes["extractors"].get(exp["extractor"], [""])
        clusterer_suffixes = suffixes["clusterers"].get(exp["clusterer"], [""])
        for ex_suffix, cl_suffix in itertools.product(extractor_suffixes, clusterer_suffixes):
            suffix = "-".join(s for s in (ex_suffix, cl_suffix) if s)
            extractor = f"{exp['extractor']}-{ex_suffix}" if ex_suffix else exp["extractor"]
            clusterer = f"{exp['clusterer']}-{cl_suffix}" if cl_suffix else exp["clusterer"]
            expanded_name = f"{name}-{suffix}" if suffix else name
            experiments[expanded_name] = {**exp, "extractor": extractor, "clusterer": clusterer}
            if suffix:
                groups.setdefault(name, {})[expanded_name] = {
                    **config["extractors"][extractor].get("swept", {}),
                    **config["clusterers"][clusterer].get("swept", {}),
                }
    config["experiments"] = experiments
    return config, groups


def _name_part(value) -> str:
    """A swept value as it appears in a name (and so in results paths): [16, 16] -> 16x16."""
    if isinstance(value, (list, tuple)):
        return "x".join(_name_part(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _set_dotted(entry: dict, key: str, value, where: str) -> None:
    *parents, leaf = key.split(".")
    target = entry
    for part in parents:
        target = target.setdefault(part, {})
        if not isinstance(target, dict):
            raise ConfigError(f"{where}: {key!r} does not name a key inside a mapping")
    target[leaf] = value
