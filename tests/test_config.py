"""Config expansion and semantic checks (the schema itself is exercised by test_workflow)."""

import json
from pathlib import Path

import pytest
import yaml

from deepclust.config import ConfigError, check_config
from deepclust.config.compose import resolve_extends
from deepclust.config.sweeps import (
    expand_sweeps,
    experiment_runs,
    select_experiments,
    sweep_groups,
)

REPO = Path(__file__).resolve().parents[1]


def _config():
    return {
        "seeds": [0, 1],
        "datasets": {"a": {"source": "digits"}, "b": {"source": "digits"}},
        "extractors": {
            "pixels": {"model": "pixels"},
            "ascae": {
                "model": "ascae",
                "model_args": {"lam": 20},
                "sweep": {"model_args.lam": [0, 10]},
            },
        },
        "clusterers": {
            "km": {"method": "kmeans", "params": {}, "sweep": {"params.n_init": [1, 5]}}
        },
        "experiments": {
            "floor": {"extractor": "pixels", "clusterer": "km", "datasets": ["a"], "seeds": [7]},
            "lam": {"extractor": "ascae", "clusterer": "km"},
        },
    }


def test_sweep_expands_entries_and_experiments():
    config = expand_sweeps(_config())
    assert sorted(config["extractors"]) == ["ascae-lam0", "ascae-lam10", "pixels"]
    assert config["extractors"]["ascae-lam10"]["model_args"] == {"lam": 10}
    assert config["extractors"]["ascae-lam10"]["swept"] == {"model_args.lam": 10}
    assert "sweep" not in config["extractors"]["ascae-lam10"]
    assert config["clusterers"]["km-n_init5"]["params"] == {"n_init": 5}
    assert sorted(config["experiments"]) == [
        "floor-n_init1",
        "floor-n_init5",
        "lam-lam0-n_init1",
        "lam-lam0-n_init5",
        "lam-lam10-n_init1",
        "lam-lam10-n_init5",
    ]
    check_config(config)
    runs = experiment_runs(config)
    assert len(runs) == 2 * 1 * 1 + 4 * 2 * 2  # floor: one dataset, its own seed; lam: two x two
    assert {r["seed"] for r in runs if r["experiment"].startswith("floor")} == {7}
    assert _config()["extractors"]["ascae"]["sweep"]  # the input is not modified


def test_sweep_groups_name_each_expanded_experiment_and_its_values():
    groups = sweep_groups(_config())
    assert sorted(groups) == ["floor", "lam"]
    assert groups["floor"] == {
        "floor-n_init1": {"params.n_init": 1},
        "floor-n_init5": {"params.n_init": 5},
    }
    assert groups["lam"]["lam-lam10-n_init1"] == {"model_args.lam": 10, "params.n_init": 1}
    assert set(groups["lam"]) == {
        e for e in expand_sweeps(_config())["experiments"] if e.startswith("lam")
    }
    config = _config()
    del config["extractors"]["ascae"]["sweep"], config["clusterers"]["km"]["sweep"]
    assert sweep_groups(config) == {}


def test_config_without_sweeps_is_unchanged():
    config = _config()
    del config["extractors"]["ascae"]["sweep"], config["clusterers"]["km"]["sweep"]
    assert expand_sweeps(config) == config


def test_sweep_of_a_key_inside_a_scalar_is_refused():
    config = _config()
    config["extractors"]["ascae"]["sweep"] = {"model.lam": [1]}
    with pytest.raises(ConfigError, match="extractors.ascae.sweep"):
        expand_sweeps(config)


def test_swept_values_are_checked_like_any_other():
    config = _config()
    config["extractors"]["ascae"]["sweep"] = {"model_args.depth": [1]}
    with pytest.raises(ConfigError, match="ascae-depth1.model_args.*takes no argument 'depth'"):
        check_config(expand_sweeps(config))


def test_only_experiments_keeps_the_named_ones_and_refuses_unknown_names():
    config = _config()
    assert select_experiments(config) is config  # no only_experiments: all of them
    config["only_experiments"] = ["lam"]
    selected = select_experiments(config)
    assert list(selected["experiments"]) == ["lam"]
    assert {run["experiment"] for run in experiment_runs(expand_sweeps(selected))} == {
        "lam-lam0-n_init1",
        "lam-lam0-n_init5",
        "lam-lam10-n_init1",
        "lam-lam10-n_init5",
    }
    assert list(config["experiments"]) == ["floor", "lam"]  # the input is left as it was
    config["only_experiments"] = ["lam", "flor"]
    with pytest.raises(
        ConfigError, match=r"only_experiments: 'flor' not defined.*known: floor, lam"
    ):
        select_experiments(config)


def test_extends_deep_merges_the_parent_in_yamls_merge_order():
    config = {
        "extractors": {
            "base": {"model": "ascae", "model_args": {"lam": 20, "init_std": 0.1}, "epochs": 200},
            "mean": {"extends": "base", "model_args": {"reduction": "mean"}, "epochs": 50},
            "scae": {"extends": "mean", "model": "scae"},  # a chain
        },
        "clusterers": {"km": {"method": "kmeans", "params": {"n_init": 20}}},
    }
    resolved = resolve_extends(config)
    assert resolved["extractors"]["scae"] == {
        "model": "scae",
        "model_args": {"lam": 20, "init_std": 0.1, "reduction": "mean"},
        "epochs": 50,
    }
    # the parent's keys keep their place, new ones follow: the order YAML's `<<:` gives, which is
    # what Snakemake compares a rule's params by
    assert list(resolved["extractors"]["mean"]["model_args"]) == ["lam", "init_std", "reduction"]
    assert list(resolved["extractors"]["scae"]) == ["model", "model_args", "epochs"]
    assert config["extractors"]["mean"] == {
        "extends": "base",
        "model_args": {"reduction": "mean"},
        "epochs": 50,
    }  # the input is left alone
    assert resolve_extends(resolved) == resolved


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        (
            {"a": {"extends": "nope"}},
            r"clusterers\.a\.extends: 'nope' is not defined under clusterers",
        ),
        (
            {"a": {"extends": "b"}, "b": {"extends": "a"}},
            r"clusterers\.b\.extends: a cycle \(a -> b -> a\)",
        ),
    ],
)
def test_extends_names_an_unknown_parent_or_a_cycle(entries, message):
    with pytest.raises(ConfigError, match=message):
        resolve_extends({"clusterers": entries})


def test_bundled_configs_resolve_to_what_they_were_before_extends():
    """The bundled configs were rewritten with `extends`; each entry resolves to the dict, key
    order included, that the written-out entry gave (tests/data/bundled_configs.json, recorded
    before the rewrite), so nothing already trained reruns. Entries added since are new runs."""
    before = json.loads((REPO / "tests" / "data" / "bundled_configs.json").read_text())
    for path, sections in before.items():
        resolved = resolve_extends(yaml.safe_load((REPO / path).read_text()))
        for section, entries in sections.items():
            for name, entry in entries.items():
                assert json.dumps(resolved[section][name]) == json.dumps(entry), (path, name)
    uses = [p for p in before if "extends:" in (REPO / p).read_text()]
    assert len(uses) >= 5  # the rewrite is there to check


def test_a_config_file_with_a_key_written_twice_is_refused_wherever_it_is_read(tmp_path):
    """The ledger's spec.load and a blocks_from source refuse it too, naming file and lines."""
    from deepclust.config import ConfigError, load

    twice = tmp_path / "twice.yaml"
    twice.write_text("extractors:\n  ae:\n    model: dense_ae\n    lr: 0.1\n    lr: 0.01\n")
    with pytest.raises(
        ConfigError, match=r"twice.yaml: line 5: key 'lr' is written twice .*line 4"
    ):
        load(twice)
    borrower = tmp_path / "borrower.yaml"
    borrower.write_text(f"blocks_from: [{twice}]\n")
    with pytest.raises(ConfigError, match="key 'lr' is written twice"):
        load(borrower)
