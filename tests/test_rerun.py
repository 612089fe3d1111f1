"""deepclust.config.rerun: the params Snakemake compares, and the upgrade of params recorded before."""

import json
from base64 import urlsafe_b64encode

import pytest
import yaml

from conftest import REPO
from deepclust.config.rerun import (
    canonical,
    result_params,
    upgrade_metadata,
    upgrade_params,
)
from deepclust.config.schema import rerun_free_keys

SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"
EXTRACTOR = {  # as the schema leaves it, in the order a user wrote it
    "model": "conv_ae",
    "model_args": {"hidden_dims": [32, 64], "embedding_dim": 10},
    "epochs": 200,
    "lr": 0.001,
    "betas": [0.9, 0.999],
    "checkpoint_every": 10,
    "feature_batch_size": 1024,
}


def test_canonical_spelling_ignores_key_order_and_yaml_style():
    reordered = yaml.safe_load(
        yaml.safe_dump(
            dict(reversed(list(EXTRACTOR.items()))), sort_keys=False, default_flow_style=True
        )
    )
    assert list(reordered) != list(EXTRACTOR)
    assert repr(canonical(reordered)) == repr(canonical(EXTRACTOR))
    assert canonical({"b": (1, {"d": 1, "c": 2}), "a": None}) == {
        "a": None,
        "b": [1, {"c": 2, "d": 1}],
    }
    assert list(canonical({"b": 1, "a": 2})) == ["a", "b"]
    # a different value is still a different param
    assert repr(canonical({**EXTRACTOR, "lr": 0.01})) != repr(canonical(EXTRACTOR))


def test_schema_marks_the_settings_that_change_no_result():
    free = rerun_free_keys(SCHEMA)
    assert free["extractor"] == {"checkpoint_every", "feature_batch_size"}
    assert free["data"] == {"mirror", "retries"}
    assert free["dataset"] == {"paper_name"}
    assert "clusterer" not in free and "manifold" not in free
    params = result_params(EXTRACTOR, free["extractor"])
    assert "checkpoint_every" not in params and "feature_batch_size" not in params
    assert result_params({**EXTRACTOR, "checkpoint_every": 5}, free["extractor"]) == params


def test_upgrade_gives_the_params_a_rule_computes_today():
    """A record written before the canonical spelling (written order, settings included) is
    rewritten to exactly what the rule hands Snakemake now; a changed value stays changed."""
    free = rerun_free_keys(SCHEMA)
    old = [repr(EXTRACTOR), repr("results/d/ae/seed0/checkpoint.pt")]
    today = sorted([repr(result_params(EXTRACTOR, free["extractor"])), old[1]])
    assert upgrade_params("pretrain", old, free) == today
    assert upgrade_params("pretrain", today, free) == today  # idempotent
    changed = [repr({**EXTRACTOR, "epochs": 100}), old[1]]
    assert upgrade_params("pretrain", changed, free) != today
    assert upgrade_params("download", ["'/mirror'", "3"], free) == []
    # a clustering run's `run` param once named its experiments; they moved to the aggregate
    # rule, so the record keeps only what the run is
    run = {"experiment": "e", "dataset": "d", "extractor": "x", "clusterer": "c", "swept": ""}
    what = {"dataset": "d", "extractor": "x", "clusterer": "c"}
    assert upgrade_params("cluster", [repr(run)], free) == [repr(canonical(what))]
    assert upgrade_params("refine", [repr(run)], free) == [repr(canonical(what))]
    assert upgrade_params("report", ["[('a.png', 'caption')]"], free) == ["[['a.png', 'caption']]"]
    assert upgrade_params("cluster", ["<not a literal>"], free) == ["<not a literal>"]


def test_upgrade_respells_the_old_amp_default():
    """``amp: true`` was the default until bf16 reached the CPU: it computed what ``auto`` does
    now on a CPU without native bf16, so a model cached under it is not retrained; ``false``
    and a pretraining's other values stay as they were."""
    free = rerun_free_keys(SCHEMA)
    old = [repr({**EXTRACTOR, "amp": True})]
    assert upgrade_params("pretrain", old, free) == [
        repr(result_params({**EXTRACTOR, "amp": "auto"}, free["extractor"]))
    ]
    off = [repr(result_params({**EXTRACTOR, "amp": False}, free["extractor"]))]
    assert upgrade_params("features", off, free) == off
    # another section's boolean true is not an extractor's amp
    assert upgrade_params("cluster", [repr({"amp": True})], free) == [repr({"amp": True})]


def test_upgrade_respells_the_old_name_of_a_clusterers_kmeans_restarts():
    """``kmeans_n_init`` (dekm, idec, sdcn, sddecc until 2026-12) is ``n_init`` now: a finished
    run whose config is respelled the same way is not rerun; its value is kept."""
    free = rerun_free_keys(SCHEMA)
    old = {"method": "dekm", "params": {"tol": 0.001, "kmeans_n_init": 5}}
    new = {"method": "dekm", "params": {"n_init": 5, "tol": 0.001}}
    assert upgrade_params("refine", [repr(old)], free) == [repr(result_params(new))]
    assert upgrade_params("cluster", [repr(new)], free) == [repr(result_params(new))]
    # an extractor's own keys are not a clusterer's
    assert "kmeans_n_init" in upgrade_params("pretrain", [repr({"kmeans_n_init": 5})], free)[0]


def test_the_upgrade_command_fails_in_one_line(tmp_path, capsys):
    from deepclust.config.__main__ import main

    with pytest.raises(SystemExit) as exit_:
        main(["upgrade", str(tmp_path)])
    assert exit_.value.code == 1
    assert "no .snakemake folder here" in capsys.readouterr().err
    (tmp_path / ".snakemake" / "locks").mkdir(parents=True)
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("")
    with pytest.raises(SystemExit):
        main(["upgrade", str(tmp_path)])
    err = capsys.readouterr().err
    assert "a Snakemake run holds this directory" in err and "Traceback" not in err
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").unlink()
    main(["upgrade", str(tmp_path)])
    assert "0 of 0 records rewritten" in capsys.readouterr().out


def _write_record(metadata, output, rule, params, split=None):
    name = urlsafe_b64encode(output.encode()).decode()
    parts = [name[:split], name[split:]] if split else [name]
    path = metadata.joinpath(*parts)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rule": rule, "params": params, "record_format_version": 6}))
    return path


def test_upgrade_metadata_rewrites_records_in_place_and_refuses_a_locked_directory(tmp_path):
    metadata = tmp_path / ".snakemake" / "metadata"
    short = _write_record(metadata, "results/model.pt", "pretrain", [repr(EXTRACTOR)])
    # Snakemake splits a long output path's record into sub-folders
    long = _write_record(metadata, "results/" + "x" * 300, "download", ["None", "3"], split=200)
    current = _write_record(metadata, "results/labels.h5", "cluster", [repr({"a": 1})])
    (metadata / "junk").write_text("not json")
    assert upgrade_metadata(tmp_path, SCHEMA) == (2, 3)
    record = json.loads(short.read_text())
    assert record["record_format_version"] == 6
    assert record["params"] == [
        repr(result_params(EXTRACTOR, rerun_free_keys(SCHEMA)["extractor"]))
    ]
    assert json.loads(long.read_text())["params"] == []
    assert json.loads(current.read_text())["params"] == [repr({"a": 1})]
    assert upgrade_metadata(tmp_path, SCHEMA) == (0, 3)

    (tmp_path / ".snakemake" / "locks").mkdir()
    (tmp_path / ".snakemake" / "locks" / "0.input.lock").write_text("")
    with pytest.raises(RuntimeError, match="a Snakemake run holds this directory"):
        upgrade_metadata(tmp_path, SCHEMA)


def test_upgrade_fingerprints_own_data_as_it_is_now():
    """Preprocessing recorded before own data was fingerprinted gets today's digest, so the
    upgrade reruns nothing; a built-in dataset and data no longer there are left as they were."""
    free = rerun_free_keys(SCHEMA)
    own = {"source": "folder", "path": "pets"}
    digests = {"pets": "sha256:abc"}
    upgraded = upgrade_params("preprocess", [repr(own)], free, digests.get)
    assert upgraded == [repr(canonical({**own, "content": "sha256:abc"}))]
    assert upgrade_params("preprocess", upgraded, free, lambda p: "sha256:new") == upgraded
    gone = {"source": "npz", "path": "moved.npz"}
    assert upgrade_params("preprocess", [repr(gone)], free, digests.get) == [repr(canonical(gone))]
    builtin = {"source": "mnist"}
    assert upgrade_params("preprocess", [repr(builtin)], free, digests.get) == [repr(builtin)]
