# Target lists, input functions and per-rule config slices. Rules stay declarative.
import os
import re
import sys
from pathlib import Path

from snakemake.utils import validate

# Scripts import the package from src/ even when it is not pip-installed (e.g. in --sdm conda envs).
_SRC = str(Path(workflow.basedir) / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p)

from deepclust.config import (
    GRAPH_METRICS,
    PIXELS,
    ConfigError,
    expand_sweeps,
    experiment_runs,
    schema_error,
    select_experiments,
    sweep_groups,
)
from deepclust.compose import compose
from deepclust.data.registry import BUILTIN_DATASETS
from deepclust.plan import cached_plan
from deepclust.rerun import canonical, rerun_free_keys, result_params
from deepclust.stages import report as stages_report
from deepclust.tables import paper_names

# compose: blocks_from adds the datasets, networks and stages of other configs (a name defined twice
# must agree); entries that `extends` another become the merged entry; a crossover grid becomes
# one experiment per (network, stage); the schema then fills the defaults and
# refuses unknown keys and bad values; only_experiments keeps
# the experiments it names; sweeps then become ordinary named entries, the expanded config is
# validated again (swept values included) and checked for names that refer to nothing. Every
# failure is one line naming the key.
try:
    config.update(compose(config, ".", workflow.basedir))
    validate(config, "../schemas/config.schema.yaml")
    config.update(select_experiments(config))
    SWEEPS = sweep_groups(config)  # {experiment: {expanded experiment: {key: value}}}
    expanded = expand_sweeps(config)
    if expanded != config:  # validated again only when sweeps made new entries (a dry run's 0.1 s)
        config.update(expanded)
        validate(config, "../schemas/config.schema.yaml")
    PLAN = cached_plan(config)  # refiners and GCN graphs; checks names (cached: no torch here)
except ConfigError as err:
    raise WorkflowError(f"invalid config: {err}") from None
except WorkflowError as err:
    raise WorkflowError(f"invalid config: {schema_error(err)}") from None

RUNS = experiment_runs(config)
# Keys the schema marks `x-rerun: false` stay out of the params (scripts read them from config)
RERUN_FREE = rerun_free_keys(Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml")
RUN_DIR = "results/{dataset}/{extractor}/seed{seed}"


def _alternatives(names):
    return "|".join(re.escape(n) for n in names) or "(?!)"


TRAINED_EXTRACTORS = [n for n, e in config["extractors"].items() if e["model"] != PIXELS]
REFINING_CLUSTERERS = PLAN["refiners"]
FEATURE_CLUSTERERS = [n for n in config["clusterers"] if n not in REFINING_CLUSTERERS]
DOWNLOADED_SOURCES = [n for n, d in BUILTIN_DATASETS.items() if d.files]

wildcard_constraints:
    dataset=_alternatives(config["datasets"]),
    extractor=_alternatives(config["extractors"]),
    clusterer=_alternatives(config["clusterers"]),
    manifold=_alternatives(config.get("manifolds", {})),
    source=_alternatives(DOWNLOADED_SOURCES),
    seed=r"\d+",
    k=r"\d+",
    metric=_alternatives(sorted(GRAPH_METRICS)),


# Params are what Snakemake compares to rerun a job: each rule gets its config entry's result
# keys in one canonical spelling (deepclust.rerun), so re-ordering or re-formatting a config, or
# changing a setting such as checkpoint_every, reruns nothing.
def dataset_params(wildcards):
    return result_params(config["datasets"][wildcards.dataset], RERUN_FREE.get("dataset", ()))


def extractor_params(wildcards):
    return result_params(config["extractors"][wildcards.extractor], RERUN_FREE.get("extractor", ()))


def clusterer_params(wildcards):
    return result_params(config["clusterers"][wildcards.clusterer], RERUN_FREE.get("clusterer", ()))


def preprocess_inputs(wildcards):
    """The download manifest of a built-in source, or the user's own file/folder."""
    ds = config["datasets"][wildcards.dataset]
    if ds["source"] in DOWNLOADED_SOURCES:
        return {"manifest": f"data/raw/{ds['source']}/manifest.json"}
    if ds.get("path"):
        return {"own_data": ds["path"]}
    return {}


def features_inputs(wildcards):
    inputs = {"data": f"data/processed/{wildcards.dataset}.h5"}
    if config["extractors"][wildcards.extractor]["model"] != PIXELS:
        inputs["model"] = f"{RUN_DIR}/model.pt".format(**wildcards)
    return inputs


def manifold_params(wildcards):
    return result_params(config["manifolds"][wildcards.manifold], RERUN_FREE.get("manifold", ()))


def cluster_inputs(wildcards):
    """features.h5, or the embedding of the clusterer's manifold."""
    manifold = config["clusterers"][wildcards.clusterer].get("manifold")
    name = f"manifolds/{manifold}.h5" if manifold else "features.h5"
    return {"features": f"{RUN_DIR}/{name}".format(**wildcards)}


def refine_inputs(wildcards):
    """Images and pretrained model, plus the cached kNN graph for a GCN clusterer."""
    inputs = {
        "data": f"data/processed/{wildcards.dataset}.h5",
        "model": f"{RUN_DIR}/model.pt".format(**wildcards),
    }
    graph = PLAN["graphs"].get(wildcards.clusterer)
    if graph is not None:
        inputs["graph"] = "results/{dataset}/graphs/knn{k}_{metric}.h5".format(
            dataset=wildcards.dataset, **graph
        )
    return inputs


def run_info(wildcards):
    """What a clustering run is, recorded in its metrics.json. Which experiment(s) it belongs to
    is the aggregate rule's business (run_memberships): renaming an experiment, or a new config
    (crossover.yaml) that shares the run, must not rerun it."""
    return canonical(
        {
            "dataset": wildcards.dataset,
            "extractor": wildcards.extractor,
            "clusterer": wildcards.clusterer,
        }
    )


def run_memberships():
    """Per clustering run, the experiment(s) asking for it ("+"-joined) and its swept values:
    the summary's experiment and swept columns."""
    names = {}
    for r in RUNS:
        key = (r["dataset"], r["extractor"], r["clusterer"], r["seed"])
        names.setdefault(key, []).append(r["experiment"])
    memberships = []
    for (dataset, extractor, clusterer, seed), experiments in sorted(names.items()):
        swept = {
            **config["extractors"][extractor].get("swept", {}),
            **config["clusterers"][clusterer].get("swept", {}),
        }
        memberships.append(
            {
                "dataset": dataset,
                "extractor": extractor,
                "clusterer": clusterer,
                "seed": seed,
                "experiment": "+".join(sorted(experiments)),
                "swept": ";".join(f"{k}={v}" for k, v in sorted(swept.items())),
            }
        )
    return canonical(memberships)


def consensus_runs():
    """(dataset, extractor, clusterer) -> its seeds, for every clustering run on 2 or more seeds,
    when the config asks for a consensus over seeds (`consensus`)."""
    if config.get("consensus") is None:  # `consensus: {}` asks for it with the defaults
        return {}
    seeds = {}
    for r in RUNS:
        seeds.setdefault((r["dataset"], r["extractor"], r["clusterer"]), set()).add(r["seed"])
    return {key: sorted(found) for key, found in seeds.items() if len(found) >= 2}


CONSENSUS = consensus_runs()
CONSENSUS_DIR = "results/{dataset}/{extractor}/consensus/{clusterer}"


def consensus_inputs(wildcards):
    """The processed data and each seed's labels and metrics.json of one clustering."""
    seeds = CONSENSUS[wildcards.dataset, wildcards.extractor, wildcards.clusterer]
    runs = [f"{RUN_DIR}/{{clusterer}}".format(**wildcards, seed=s) for s in seeds]
    return {
        "data": f"data/processed/{wildcards.dataset}.h5",
        "labels": [f"{run}/labels.h5" for run in runs],
        "metrics": [f"{run}/metrics.json" for run in runs],
    }


def consensus_info(wildcards):
    key = (wildcards.dataset, wildcards.extractor, wildcards.clusterer)
    return canonical(
        {"dataset": key[0], "extractor": key[1], "clusterer": key[2], "seeds": CONSENSUS[key]}
    )


def all_consensus():
    return sorted(
        f"{CONSENSUS_DIR}/metrics.json".format(dataset=d, extractor=e, clusterer=c)
        for d, e, c in CONSENSUS
    )


def paper_values_file():
    return config.get("paper_values") or str(
        Path(workflow.basedir) / "workflow" / "resources" / "paper_values.csv"
    )


def all_metrics():
    return sorted({f"{RUN_DIR}/{{clusterer}}/metrics.json".format(**r) for r in RUNS})


def report_runs():
    return canonical(
        stages_report.report_runs(
            RUNS,
            run_dir=RUN_DIR,
            sweeps=SWEEPS,
            refining=REFINING_CLUSTERERS,
            trained=TRAINED_EXTRACTORS,
        )
    )


def report_figures():
    return [png for run in report_runs() for png, _ in run["figures"]]
