"""deepclust.config.compose: configs that borrow other configs' building blocks, and the crossover grid."""

import pytest
import yaml

from conftest import REPO
from deepclust.config import ConfigError
from deepclust.config.compose import borrow_blocks, expand_crossover

CAE = {"model": "conv_ae", "epochs": 200, "batch_size": 256, "lr": 0.001}
KMEANS = {"method": "kmeans", "params": {"n_init": 20}}


def _write(path, config):
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path.name


def test_borrowed_blocks_are_the_sources_entries_with_their_extends_resolved(tmp_path):
    a = _write(
        tmp_path / "a.yaml",
        {
            "seeds": [7],
            "datasets": {"d": {"source": "digits"}},
            "extractors": {"cae": CAE, "cae_e5": {"extends": "cae", "epochs": 5}},
            "clusterers": {"kmeans": KMEANS},
            "experiments": {"x": {"extractor": "cae", "clusterer": "kmeans"}},
        },
    )
    b = _write(  # the same kmeans, written in another key order: not a clash
        tmp_path / "b.yaml",
        {"clusterers": {"kmeans": {"params": {"n_init": 20}, "method": "kmeans"}}},
    )
    own = {"blocks_from": [a, b], "extractors": {"mine": {"extends": "cae", "lr": 0.01}}}
    config = borrow_blocks(own, tmp_path)
    assert config["extractors"]["cae_e5"] == {**CAE, "epochs": 5}
    assert config["extractors"]["mine"] == {"extends": "cae", "lr": 0.01}  # resolved later
    assert config["datasets"] == {"d": {"source": "digits"}}
    assert "experiments" not in config and "seeds" not in config  # blocks only
    assert borrow_blocks({"seeds": [0]}, tmp_path) == {"seeds": [0]}


def test_a_name_that_means_two_things_is_refused_naming_both_places(tmp_path):
    a = _write(tmp_path / "a.yaml", {"clusterers": {"kmeans": KMEANS}})
    b = _write(tmp_path / "b.yaml", {"clusterers": {"kmeans": {"method": "kmeans"}}})
    with pytest.raises(ConfigError, match="clusterers.kmeans differs between a.yaml and b.yaml"):
        borrow_blocks({"blocks_from": [a, b]}, tmp_path)
    own = {"blocks_from": [a], "clusterers": {"kmeans": {**KMEANS, "params": {"n_init": 1}}}}
    with pytest.raises(
        ConfigError, match=r"clusterers.kmeans: defined here and, differently, in a.yaml"
    ):
        borrow_blocks(own, tmp_path)
    same = {"blocks_from": [a], "clusterers": {"kmeans": KMEANS}}
    assert borrow_blocks(same, tmp_path)["clusterers"] == {"kmeans": KMEANS}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "'missing.yaml' not found"),
        ("a: [", "is not valid YAML"),
        ("- a list", "is not a config"),
        ("blocks_from: [x.yaml]", "borrows in turn"),
        ("extractors: {a: {extends: nobody}}", r"in 'missing.yaml': extractors.a.extends"),
    ],
)
def test_a_bad_source_is_named(tmp_path, content, message):
    if content is not None:
        (tmp_path / "missing.yaml").write_text(content)
    with pytest.raises(ConfigError, match=f"blocks_from: .*{message}"):
        borrow_blocks({"blocks_from": ["missing.yaml"]}, tmp_path)


def _grid_config(**grid):
    return {
        "datasets": {"d": {"source": "digits"}, "e": {"source": "digits"}},
        "extractors": {"pixels": {"model": "pixels"}, "cae": CAE},
        "clusterers": {"kmeans": KMEANS, "dekm": {"method": "dekm"}},
        "crossover": {"extractors": ["pixels", "cae"], "clusterers": ["kmeans", "dekm"], **grid},
    }


def test_crossover_makes_one_experiment_per_network_and_stage():
    config = expand_crossover(
        _grid_config(
            datasets=["d"], seeds=[3], exclude=["pixels.dekm"], papers={"cae.dekm": "dekm"}
        )
    )
    assert config["experiments"] == {
        "pixels.kmeans": {
            "extractor": "pixels",
            "clusterer": "kmeans",
            "datasets": ["d"],
            "seeds": [3],
        },
        "cae.kmeans": {"extractor": "cae", "clusterer": "kmeans", "datasets": ["d"], "seeds": [3]},
        "cae.dekm": {
            "extractor": "cae",
            "clusterer": "dekm",
            "datasets": ["d"],
            "seeds": [3],
            "paper": "dekm",
        },
    }
    plain = expand_crossover(_grid_config())["experiments"]
    # raw pixels x DEKM (it fine-tunes a model) is left out by itself, excluded or not
    assert list(plain) == ["pixels.kmeans", "cae.kmeans", "cae.dekm"]
    assert plain["cae.dekm"] == {
        "extractor": "cae",
        "clusterer": "dekm",
    }  # config's datasets, seeds


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        (
            {"extractors": ["cae", "vae"]},
            r"crossover.extractors: 'vae' not defined under extractors",
        ),
        ({"clusterers": []}, "crossover.clusterers: a non-empty list"),
        ({"exclude": ["cae.gmm"]}, r"crossover.exclude: 'cae.gmm' is not a pair of the grid"),
        ({"papers": {"kmeans.cae": "x"}}, r"crossover.papers: 'kmeans.cae' is not a pair"),
    ],
)
def test_crossover_names_a_bad_key(grid, message):
    with pytest.raises(ConfigError, match=message):
        expand_crossover(_grid_config(**grid))


def test_crossover_refuses_an_experiment_of_the_same_name():
    config = {
        **_grid_config(),
        "experiments": {"cae.kmeans": {"extractor": "cae", "clusterer": "kmeans"}},
    }
    with pytest.raises(ConfigError, match="'cae.kmeans' is also defined under experiments"):
        expand_crossover(config)


def test_bundled_crossover_config_borrows_without_clashes_and_covers_every_network_and_stage():
    """The issue's six networks x six clusterers, each a method config's own entry (the runs are
    those configs' cached runs), and every published pairing a real paper row."""
    import csv

    raw = yaml.safe_load((REPO / "workflow" / "configs" / "crossover.yaml").read_text())
    config = expand_crossover(borrow_blocks(raw, REPO))
    grid = raw["crossover"]
    assert len(config["experiments"]) == len(grid["extractors"]) * len(grid["clusterers"]) == 36
    models = {config["extractors"][e]["model"] for e in grid["extractors"]}
    assert models == {"dense_ae", "conv_ae", "skip_cae", "ascae", "ddecn", "res_vae"}
    sddecc = yaml.safe_load((REPO / "workflow" / "configs" / "sddecc.yaml").read_text())
    assert config["clusterers"]["sdcn"] == sddecc["clusterers"]["sdcn"]
    with open(REPO / "workflow" / "resources" / "paper_values.csv") as fh:
        rows = {
            r["method"] for r in csv.DictReader(line for line in fh if not line.startswith("#"))
        }
    assert set(grid["papers"].values()) <= rows


def test_a_relative_source_is_looked_up_in_the_working_then_the_workflow_directory(tmp_path):
    workflow_dir = tmp_path / "workflow_dir"
    (workflow_dir / "configs").mkdir(parents=True)
    _write(workflow_dir / "configs" / "m.yaml", {"clusterers": {"kmeans": KMEANS}})
    config = borrow_blocks({"blocks_from": ["configs/m.yaml"]}, tmp_path, workflow_dir)
    assert config["clusterers"] == {"kmeans": KMEANS}
    (tmp_path / "configs").mkdir()  # the working directory's copy comes first
    _write(tmp_path / "configs" / "m.yaml", {"clusterers": {"km": KMEANS}})
    config = borrow_blocks({"blocks_from": ["configs/m.yaml"]}, tmp_path, workflow_dir)
    assert config["clusterers"] == {"km": KMEANS}


def test_a_crossover_cell_no_clusterer_could_run_is_left_out_and_listed(tmp_path):
    """Raw pixels x a clusterer that fine-tunes a model: left out of the grid and said, instead
    of stopping the dry run on an experiment the user never wrote (issue 35)."""
    from deepclust.config import resolve

    config = {
        "datasets": {"digits": {"source": "digits"}},
        "extractors": {"pixels": {"model": "pixels"}, "ae": {"model": "dense_ae", "epochs": 2}},
        "clusterers": {"kmeans": {"method": "kmeans"}, "dekm": {"method": "dekm"}},
        "crossover": {"extractors": ["pixels", "ae"], "clusterers": ["kmeans", "dekm"]},
    }
    expanded = expand_crossover(config)
    assert sorted(expanded["experiments"]) == ["ae.dekm", "ae.kmeans", "pixels.kmeans"]
    plan = resolve(config, tmp_path)
    assert plan.skipped == {
        "pixels.dekm": "'dekm' fine-tunes a trained model; 'pixels' is raw pixels"
    }
    assert {r["experiment"] for r in plan.runs} == {"ae.dekm", "ae.kmeans", "pixels.kmeans"}
