"""deepclust.config.resolve: one answer to what a config means, for the workflow and the ledger."""

import pytest
import yaml

from conftest import REPO
from deepclust.config import ConfigError, load, resolve

CONFIG = """
seeds: [0, 1]
datasets: {usps: {source: npz, path: usps.npz}, coil: {source: npz, path: coil.npz}}
extractors:
  ae: {model: dense_ae, model_args: {hidden_dims: [8]}, epochs: 3, checkpoint_every: 1}
  ae_wide: {extends: ae, model_args: {hidden_dims: [16]}, sweep: {epochs: [2, 4]}}
clusterers: {kmeans: {method: kmeans, params: {n_init: 2}}}
experiments:
  ae_kmeans: {extractor: ae, clusterer: kmeans, datasets: [usps]}
  wide_kmeans: {extractor: ae_wide, clusterer: kmeans, seeds: [0]}
"""


def test_resolve_fills_defaults_expands_sweeps_and_lists_every_run():
    plan = resolve(yaml.safe_load(CONFIG))
    extractors = plan.config["extractors"]
    assert set(extractors) == {"ae", "ae_wide-epochs2", "ae_wide-epochs4"}
    assert extractors["ae_wide-epochs4"]["model_args"] == {"hidden_dims": [16]}  # extends
    assert extractors["ae"]["batch_size"] == 256  # the schema's default
    assert plan.sweeps == {
        "wide_kmeans": {"wide_kmeans-epochs2": {"epochs": 2}, "wide_kmeans-epochs4": {"epochs": 4}}
    }
    runs = {(r["experiment"], r["dataset"], r["seed"]) for r in plan.runs}
    assert runs == {
        ("ae_kmeans", "usps", 0),
        ("ae_kmeans", "usps", 1),
        *((f"wide_kmeans-epochs{e}", d, 0) for e in (2, 4) for d in ("usps", "coil")),
    }
    assert plan.refiners == [] and plan.trained_extractors == list(extractors)


def test_params_are_canonical_and_leave_out_what_changes_no_result():
    """A rule's params: the entry in one spelling (keys sorted), without `x-rerun: false` keys
    (checkpoint_every), so changing those or re-ordering the config reruns nothing."""
    plan = resolve(yaml.safe_load(CONFIG))
    params = plan.params("extractors", "ae")
    assert "checkpoint_every" not in params and params["epochs"] == 3
    assert list(params) == sorted(params)
    reordered = yaml.safe_load(CONFIG)
    reordered["extractors"]["ae"] = dict(reversed(list(reordered["extractors"]["ae"].items())))
    reordered["extractors"]["ae"]["checkpoint_every"] = 7
    assert resolve(reordered).params("extractors", "ae") == params


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["extractors"]["ae_wide"].update(batch_size=0), r"^extractors\.ae_wide\.batch"),
        (lambda c: c["experiments"]["ae_kmeans"].update(clusterer="nope"), "experiments.ae_kmeans"),
        (lambda c: c.update(only_experiments=["gone"]), "only_experiments: 'gone'"),
    ],
)
def test_a_bad_config_is_one_config_error_naming_the_key(edit, message):
    config = yaml.safe_load(CONFIG)
    edit(config)
    with pytest.raises(ConfigError, match=message):
        resolve(config)


def test_load_merges_overlays_in_order_as_configfile_does(tmp_path):
    base, overlay = tmp_path / "base.yaml", tmp_path / "overlay.yaml"
    base.write_text(CONFIG)
    overlay.write_text("extractors: {ae: {epochs: 9}}\nonly_experiments: [ae_kmeans]\n")
    plan = load(base, overlay)
    assert plan.config["extractors"]["ae"]["epochs"] == 9
    assert plan.config["extractors"]["ae"]["model_args"] == {"hidden_dims": [8]}  # merged
    assert {r["experiment"] for r in plan.runs} == {"ae_kmeans"}
    with pytest.raises(ConfigError, match="no such config file"):
        load(tmp_path / "missing.yaml")


def test_a_job_reads_its_rerun_free_settings_in_one_place():
    """Scripts get what is not a param (device, compile, mirrors, an entry's `x-rerun: false`
    keys) from job_settings, never from the config by hand."""
    from types import SimpleNamespace

    from deepclust.stages import job_settings

    config = resolve(yaml.safe_load(CONFIG)).config
    job = SimpleNamespace(config=config, wildcards={"dataset": "usps", "extractor": "ae"})
    settings = job_settings(job)
    assert settings["device"] == "auto" and settings["compile"] is False
    assert settings["entry"] == {"checkpoint_every": 1, "feature_batch_size": 1024}
    assert settings["data"] == {"mirror": None, "retries": 3}
    refine = {"dataset": "usps", "extractor": "ae", "clusterer": "kmeans"}
    assert job_settings(SimpleNamespace(config=config, wildcards=refine))["entry"] == {}
    download = SimpleNamespace(config=config, wildcards={"source": "mnist"})
    assert job_settings(download)["entry"] == {}


def test_the_reports_job_runtimes_are_this_configs_jobs(tmp_path):
    """Benchmark files an earlier config left (another dataset, network or clusterer) are not
    listed in the report (issue 35)."""
    from deepclust.targets import report_benchmarks

    config = {
        "datasets": {"digits": {"source": "digits"}},
        "extractors": {"ae": {"model": "dense_ae", "epochs": 2}},
        "clusterers": {"km": {"method": "kmeans"}},
        "experiments": {"ae_km": {"extractor": "ae", "clusterer": "km"}},
    }
    listed = set(report_benchmarks(resolve(config, tmp_path)))
    mine = [
        "pretrain/digits/ae/seed0.tsv",
        "cluster/digits/ae/seed0/km.tsv",
        "plot/digits/ae/seed0/km.tsv",
        "plot/digits/ae/seed0/training.tsv",
        "preprocess/digits.tsv",
        "aggregate/default.tsv",
    ]
    earlier = [
        "aggregate/sdekc.tsv",  # another config's tables
        "pretrain/usps/ae/seed0.tsv",
        "pretrain/digits/cae/seed0.tsv",
        "cluster/digits/ae/seed0/dekm.tsv",
        "plot/digits/ae/seed0/km2.tsv",
        "pretrain/digits/ae/seed1.tsv",
    ]
    assert {f"results/benchmarks/{p}" for p in mine} <= listed
    assert not {f"results/benchmarks/{p}" for p in earlier} & listed


#: every bundled config, an overlay with its base
BUNDLED = [
    ["config.yaml"],
    *(
        [str(p.relative_to(REPO))]
        for p in sorted((REPO / "workflow" / "configs").glob("*.yaml"))
        if p.name != "mfvc_cpu.yaml"
    ),
    ["workflow/configs/mfvc.yaml", "workflow/configs/mfvc_cpu.yaml"],
]
PLANS = REPO / "tests" / "data" / "bundled_plans.json"


def plan_digest(plan) -> str:
    """A digest of everything a plan tells the workflow: the resolved config, sweeps, runs, the
    registry facts, skipped cells, rerun-free keys and every entry's params."""
    import hashlib
    import json

    from deepclust.config.rerun import canonical
    from deepclust.config.terms import SECTIONS

    fields = {k: getattr(plan, k) for k in ("config", "sweeps", "runs", "refiners", "graphs")}
    fields["skipped"] = plan.skipped
    fields["rerun_free"] = {k: sorted(v) for k, v in plan.rerun_free.items()}
    fields["params"] = {
        s: {n: plan.params(s, n) for n in plan.config[s]} for s in SECTIONS if s in plan.config
    }
    text = json.dumps(canonical(fields), sort_keys=True, default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def test_every_bundled_config_resolves_to_its_recorded_plan(monkeypatch):
    """A refactor of the config layer changes no plan. When a bundled config changes on
    purpose, record its plan again: ``DEEPCLUST_RECORD_PLANS=1 pytest tests/test_resolve.py``."""
    import json
    import os

    monkeypatch.chdir(REPO)
    found = {" ".join(files): plan_digest(load(*files)) for files in BUNDLED}
    if os.environ.get("DEEPCLUST_RECORD_PLANS"):
        PLANS.write_text(json.dumps(found, indent=1) + "\n")
    assert found == json.loads(PLANS.read_text())


def test_a_configs_report_is_named_by_its_name_key_else_its_files(tmp_path):
    """results/reports/{name}: `name:` first, then the --configfile stems (an overlay joins its
    base's), then "default" for the embedded config.yaml; a name that is no folder name is
    refused, saying to set `name:`."""
    config = yaml.safe_load(CONFIG)
    assert resolve(config).name == "default"
    assert resolve(config, configfiles=["cfg/mfvc.yaml", "cfg/mfvc_cpu.yaml"]).name == (
        "mfvc+mfvc_cpu"
    )
    assert resolve({**config, "name": "try-2"}, configfiles=["a.yaml"]).name == "try-2"
    (tmp_path / "my run.yaml").write_text(CONFIG)
    with pytest.raises(ConfigError, match=r"'my run'.*set `name:`"):
        load(tmp_path / "my run.yaml")
    with pytest.raises(ConfigError, match="name"):
        resolve({**config, "name": "../elsewhere"})


def test_a_dataset_cannot_take_a_folder_results_keeps_for_itself():
    config = yaml.safe_load(CONFIG)
    config["datasets"]["reports"] = config["datasets"].pop("coil")
    with pytest.raises(ConfigError, match="reports"):
        resolve(config)


def test_a_config_of_long_pretrainings_says_so_and_a_small_one_says_nothing():
    from deepclust.workload import workload_note

    config = {
        "datasets": {"mnist": {"source": "mnist"}, "usps": {"source": "usps"}},
        "extractors": {"ae": {"model": "dense_ae", "epochs": 200}, "px": {"model": "pixels"}},
        "clusterers": {"km": {"method": "kmeans"}},
        "experiments": {
            "ae_km": {"extractor": "ae", "clusterer": "km"},
            "px_km": {"extractor": "px", "clusterer": "km"},
        },
        "seeds": [0, 1, 2],
    }
    note = workload_note(resolve(config))
    assert (
        "pretrains 3 network(s)" in note
        and "ae on mnist (70,000 images x 200 epochs, 3 seed(s))" in note
    )
    assert "usps" not in note and "minutes on a GPU and hours on a few CPU cores" in note
    config["extractors"]["ae"]["epochs"] = 100  # 7 million images x epochs: not long
    assert workload_note(resolve(config)) is None
