"""The names a config uses, checked against what exists, once per config and code.

:func:`check_config` checks what a JSON schema cannot: experiments name defined extractors,
clusterers and datasets; extractors name registered models with arguments those models take;
clusterers name registered methods with parameters they take; own data has a path. Every error
names the key. :func:`registry_facts` adds what the Snakefile builds its rules from: which
clusterers fine-tune a model (the ``refine`` rule) and which kNN graph each GCN clusterer reads.

Both need the model and clusterer registries, that is torch and scikit-learn: seconds that every
dry run, and on a cluster every job (each parses the workflow again), would pay.
:func:`cached_registry_facts` therefore keeps them in ``.snakemake/deepclust/`` under a key of
the config and the package's code (every module's content), so an unchanged workflow is parsed
without either import, and any edit to the config or the package checks it again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from deepclust.config.rerun import canonical
from deepclust.config.terms import GRAPH_METRICS, PIXELS, ConfigError, refines_pixels
from deepclust.data.registry import BUILTIN_DATASETS, OWN_DATA_SOURCES
from deepclust.io import write_text

#: the package's folder (its code keys the cache)
PACKAGE = Path(__file__).resolve().parents[1]


def check_config(config: dict) -> None:
    """Raise :class:`ConfigError` naming the first bad key."""
    # Imported here: the registries pull in torch, which the stages that only read PIXELS skip.
    from deepclust.clustering import (
        REFINERS,
        check_clusterer_params,
        get_clusterer,
        graph_spec,
        is_refiner,
    )
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
        if refines_pixels(extractor, clusterer, REFINERS):
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


CACHE_DIR = Path(".snakemake") / "deepclust"


def registry_facts(config: dict) -> dict:
    """Check ``config`` (a :class:`~deepclust.config.ConfigError` names the first bad key) and
    return ``{"refiners": [clusterer names], "graphs": {clusterer name: {"k", "metric"}}}``."""
    from deepclust.clustering import graph_spec, is_refiner

    check_config(config)
    clusterers = config["clusterers"]
    graphs = {n: graph_spec(c["method"], c.get("params", {})) for n, c in clusterers.items()}
    return {
        "refiners": sorted(n for n, c in clusterers.items() if is_refiner(c["method"])),
        "graphs": {n: spec for n, spec in sorted(graphs.items()) if spec is not None},
    }


def code_fingerprint(package: Path = PACKAGE) -> str:
    """A hash of every module's path and content: changes with an edit, not with a ``touch``
    or a checkout that rewrites a file unchanged (which a modification time would)."""
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def cached_registry_facts(config: dict, cache_dir: str | Path = CACHE_DIR) -> dict:
    """:func:`registry_facts` of ``config``, from the cache when this config was checked by this
    code before. A config that fails the check is never cached; a cache that cannot be written
    (a read-only folder) only costs the check next time."""
    text = json.dumps([canonical(config), code_fingerprint()], sort_keys=True, default=repr)
    path = Path(cache_dir) / f"registry-{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    facts = registry_facts(config)
    try:
        write_text(path, json.dumps(facts, sort_keys=True))
    except OSError:
        pass
    return facts
