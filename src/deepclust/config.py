"""Checks on a workflow config that a JSON schema cannot express.

The schema (:data:`SCHEMA`) checks keys, types and ranges (and fills defaults);
:func:`check_config` then checks that names refer to things that exist: experiments to defined
extractors, clusterers and datasets, extractors to registered models with arguments those
models take, clusterers to registered methods, own data to a path. Every error names the key.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path

import yaml

from deepclust.data.registry import BUILTIN_DATASETS, OWN_DATA_SOURCES

#: the config schema: every key, its type, range, default and whether it changes a result; it
#: ships with the package (``workflow/schemas/config.schema.yaml`` links to it, Snakemake's place)
SCHEMA = Path(__file__).with_name("config.schema.yaml")

#: neighbour metrics the kNN graph of GCN clustering accepts (also the graph file's name part)
GRAPH_METRICS = frozenset({"euclidean", "cosine"})
PIXELS = "pixels"  # the extractor "model" that uses raw pixels as features: no training


class ConfigError(ValueError):
    """The config is well-formed but refers to something that does not exist."""


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """YAML's safe loader, refusing a key written twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConfigError(
                    f"{key_node.start_mark.name}: line {line}: key {key!r} is written twice in "
                    f"one mapping (first on line {seen[key]}); YAML would keep only the last"
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_yaml(path: str | Path) -> object:
    """A YAML config file's content; a key written twice in one mapping is a ConfigError naming
    the file and both lines, not a silent last-wins."""
    with open(path) as fh:
        return yaml.load(fh, Loader=_UniqueKeyLoader)


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


def check_config(config: dict) -> None:
    """Raise :class:`ConfigError` naming the first bad key."""
    # Imported here: the registries pull in torch, which the stages that only read PIXELS skip.
    from deepclust.clustering import check_clusterer_params, get_clusterer, graph_spec, is_refiner
    from deepclust.clustering.manifold import check_manifold_params
    from deepclust.models import MODELS, check_model_args, gcn_models

    gcn_capable = gcn_models()

    for name, ds in config.get("datasets", {}).items():
        source = ds["source"]
        if source not in BUILTIN_DATASETS and source not in OWN_DATA_SOURCES:
            known = ", ".join([*BUILTIN_DATASETS, *OWN_DATA_SOURCES])
            raise ConfigError(f"datasets.{name}.source: unknown source {source!r}; known: {known}")
        if source in OWN_DATA_SOURCES and not ds.get("path"):
            raise ConfigError(f"datasets.{name}.path: own data (source {source!r}) needs a path")
        if source in BUILTIN_DATASETS and ds.get("path"):
            raise ConfigError(
                f"datasets.{name}.path: built-in source {source!r} takes no path; point data.mirror at a local copy"
            )
    for name, ex in config.get("extractors", {}).items():
        model = ex["model"]
        if model == PIXELS:
            if ex.get("model_args"):
                raise ConfigError(
                    f"extractors.{name}.model_args: the {PIXELS!r} extractor takes no arguments"
                )
            continue
        if model not in MODELS:
            known = ", ".join([PIXELS, *sorted(MODELS)])
            raise ConfigError(f"extractors.{name}.model: unknown model {model!r}; known: {known}")
        try:
            check_model_args(model, ex.get("model_args", {}))
        except ValueError as err:
            raise ConfigError(f"extractors.{name}.model_args: {err}") from None
    for name, mf in config.get("manifolds", {}).items():
        try:
            check_manifold_params(mf.get("method", "umap"), mf.get("params", {}))
        except ValueError as err:
            raise ConfigError(f"manifolds.{name}: {err}") from None
    for name, cl in config.get("clusterers", {}).items():
        method = cl["method"]
        try:
            get_clusterer(method)
        except ValueError as err:
            raise ConfigError(f"clusterers.{name}.method: {err}") from None
        try:
            check_clusterer_params(method, cl.get("params", {}))
        except ValueError as err:
            raise ConfigError(f"clusterers.{name}.params: {err}") from None
        graph = graph_spec(method, cl.get("params", {}))
        if graph is not None and not (
            isinstance(graph["k"], int) and graph["k"] >= 1 and graph["metric"] in GRAPH_METRICS
        ):
            raise ConfigError(
                f"clusterers.{name}.params: the kNN graph needs an integer k >= 1 and a metric in "
                f"{sorted(GRAPH_METRICS)}; got k = {graph['k']!r}, metric = {graph['metric']!r}"
            )
        manifold = cl.get("manifold")
        if manifold is not None:
            if manifold not in config.get("manifolds", {}):
                raise ConfigError(
                    f"clusterers.{name}.manifold: {manifold!r} is not defined under manifolds"
                )
            if is_refiner(method):
                raise ConfigError(
                    f"clusterers.{name}.manifold: {method!r} refines the model; it clusters no embedding"
                )
            if cl.get("layer"):
                raise ConfigError(
                    f"clusterers.{name}.layer: with a manifold, set the layer on "
                    f"manifolds.{manifold}.layer (the embedding is of one layer)"
                )
        if is_refiner(method) and cl.get("layer"):
            raise ConfigError(
                f"clusterers.{name}.layer: {method!r} refines the model's own clustering features;"
                " it takes no layer"
            )
    for name, exp in config.get("experiments", {}).items():
        for key, section in (("extractor", "extractors"), ("clusterer", "clusterers")):
            if exp[key] not in config.get(section, {}):
                raise ConfigError(
                    f"experiments.{name}.{key}: {exp[key]!r} is not defined under {section}"
                )
        clusterer = config["clusterers"][exp["clusterer"]]
        extractor = config["extractors"][exp["extractor"]]
        if is_refiner(clusterer["method"]) and extractor["model"] == PIXELS:
            raise ConfigError(
                f"experiments.{name}: clusterer {exp['clusterer']!r} ({clusterer['method']}) "
                f"fine-tunes a trained model; extractor {exp['extractor']!r} is raw pixels"
            )
        if (
            graph_spec(clusterer["method"], clusterer.get("params", {})) is not None
            and extractor["model"] != PIXELS
            and extractor["model"] not in gcn_capable
        ):
            raise ConfigError(
                f"experiments.{name}: clusterer {exp['clusterer']!r} ({clusterer['method']}) feeds "
                f"the encoder's layers to a GCN; model {extractor['model']!r} does not expose them "
                f"({', '.join(gcn_capable)} do)"
            )
        for dataset in exp.get("datasets") or []:
            if dataset not in config.get("datasets", {}):
                raise ConfigError(
                    f"experiments.{name}.datasets: {dataset!r} is not defined under datasets"
                )


#: the sections whose entries may name a parent with ``extends``
EXTENDABLE = ("extractors", "clusterers", "manifolds")


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
