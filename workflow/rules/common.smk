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

from deepclust import targets
from deepclust.config import GRAPH_METRICS, ConfigError, load_yaml, resolve
from deepclust.config.checks import CACHE_DIR
from deepclust.config.rerun import canonical
from deepclust.tables import paper_names
from deepclust.workload import workload_note

# What the config means (borrowed blocks, extends, crossover, schema defaults, experiments,
# sweeps, the names checked) is worked out once, by deepclust.config.resolve, for this file, the
# ledger and the tests alike; every failure is one line naming the key.
try:
    for path in workflow.configfiles:  # Snakemake keeps the last of a key written twice: refuse
        load_yaml(path)
    PLAN = resolve(
        config,
        ".",
        workflow.basedir,
        plan_cache=CACHE_DIR,
        configfiles=workflow.overwrite_configfiles or (),
    )
except ConfigError as err:
    raise WorkflowError(f"invalid config: {err}") from None
config.update(PLAN.config)
for _cell, _why in PLAN.skipped.items():
    print(f"crossover: cell {_cell} left out: {_why}", file=sys.stderr)
# a config of long pretrainings (a paper's, on 70,000 images) says so before hundreds of jobs
if (_note := workload_note(PLAN)) is not None:
    print(_note, file=sys.stderr)
# Params are what Snakemake compares to rerun a job: each rule takes its config entry's result
# keys in one canonical spelling from the plan (PLAN.params), so re-ordering or re-formatting a
# config, or changing a setting such as checkpoint_every, reruns nothing.
SWEEPS = PLAN.sweeps
TRAINED_EXTRACTORS, REFINING_CLUSTERERS = PLAN.trained_extractors, PLAN.refiners
FEATURE_CLUSTERERS = PLAN.feature_clusterers
# every path a rule writes, and each job's log and benchmark, spelled once (deepclust.paths)
from deepclust.paths import PATHS
from deepclust.paths import path as filled
from deepclust.paths import benchmark as job_benchmark
from deepclust.paths import log as job_log


def _alternatives(names):
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    dataset=_alternatives(config["datasets"]),
    extractor=_alternatives(config["extractors"]),
    clusterer=_alternatives(config["clusterers"]),
    manifold=_alternatives(config.get("manifolds", {})),
    source=_alternatives(targets.DOWNLOADED_SOURCES),
    name=re.escape(PLAN.name),  # this config's tables and report (results/reports/{name})
    seed=r"\d+",
    k=r"\d+",
    metric=_alternatives(sorted(GRAPH_METRICS)),


# Input functions and target lists (deepclust.targets)
# own data by content, not time (deepclust.data.fingerprint): ancient here, its digest in params
preprocess_inputs = lambda w: {
    k: ancient(v) if k == "own_data" else v for k, v in targets.preprocess_inputs(PLAN, w).items()
}
preprocess_params = lambda w: targets.preprocess_params(PLAN, w)
features_inputs = lambda w: targets.features_inputs(PLAN, w)
cluster_inputs = lambda w: targets.cluster_inputs(PLAN, w)
refine_inputs = lambda w: targets.refine_inputs(PLAN, w)
consensus_inputs = lambda w: targets.consensus_inputs(PLAN, w)
consensus_info = lambda w: targets.consensus_info(PLAN, w)
run_info = targets.run_info
run_memberships = PLAN.memberships
all_metrics = PLAN.metrics_files
all_consensus = lambda: targets.all_consensus(PLAN)
all_assignments = lambda: targets.all_assignments(PLAN)
all_groups = lambda: targets.all_groups(PLAN)
pick_graphs = lambda: targets.pick_graphs(PLAN)
grouped_runs = lambda w: targets.grouped_runs(PLAN, w.dataset)
paper_values_file = lambda: targets.paper_values_file(PLAN, workflow.basedir)
report_runs = lambda: targets.report_runs(PLAN)
report_figures = lambda: targets.report_figures(PLAN)
report_benchmarks = lambda: targets.report_benchmarks(PLAN)
