# Target lists, input functions and per-rule config slices. Rules stay declarative.
import os
import re
import sys
from pathlib import Path


# Scripts import the package from src/ even when it is not pip-installed (e.g. in --sdm conda envs).
_SRC = str(Path(workflow.basedir) / "src")
if _SRC not in sys.path:
    sys.path.insert(0, _SRC)
os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (_SRC, os.environ.get("PYTHONPATH")) if p)

from deepclust.config import GRAPH_METRICS, PIXELS, ConfigError
from deepclust.data.registry import BUILTIN_DATASETS
from deepclust.plan import CACHE_DIR
from deepclust.rerun import canonical
from deepclust.spec import RUN_DIR, resolve
from deepclust.stages import report as stages_report
from deepclust.tables import paper_names

# What the config means (borrowed blocks, extends, crossover, schema defaults, experiments,
# sweeps, the names checked) is worked out once, by deepclust.spec.resolve, for this file, the
# ledger and the tests alike; every failure is one line naming the key.
try:
    PLAN = resolve(config, ".", workflow.basedir, plan_cache=CACHE_DIR)
except ConfigError as err:
    raise WorkflowError(f"invalid config: {err}") from None
config.update(PLAN.config)
RUNS, SWEEPS = PLAN.runs, PLAN.sweeps


def _alternatives(names):
    return "|".join(re.escape(n) for n in names) or "(?!)"


TRAINED_EXTRACTORS = PLAN.trained_extractors
REFINING_CLUSTERERS = PLAN.refiners
FEATURE_CLUSTERERS = PLAN.feature_clusterers
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
    return PLAN.params("datasets", wildcards.dataset)


def extractor_params(wildcards):
    return PLAN.params("extractors", wildcards.extractor)


def clusterer_params(wildcards):
    return PLAN.params("clusterers", wildcards.clusterer)


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
    return PLAN.params("manifolds", wildcards.manifold)


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
    graph = PLAN.graphs.get(wildcards.clusterer)
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
    """Per clustering run, the experiment(s) asking for it and its swept values."""
    return PLAN.memberships()


CONSENSUS = PLAN.consensus_groups()
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
    return PLAN.metrics_files()


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
