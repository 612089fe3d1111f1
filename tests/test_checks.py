"""deepclust.config.checks: the config facts the Snakefile is built from, checked once and cached."""

import os

import pytest

from deepclust.config import ConfigError, checks


def _config(**clusterers):
    return {
        "datasets": {"d": {"source": "digits"}},
        "extractors": {"ae": {"model": "dense_ae", "model_args": {}}},
        "clusterers": {"km": {"method": "kmeans", "params": {}}, **clusterers},
        "experiments": {"e": {"extractor": "ae", "clusterer": "km"}},
    }


def test_plan_names_the_refiners_and_each_gcn_graph():
    config = _config(
        dec={"method": "idec", "params": {"gamma": 0.0}},
        gcn={"method": "sdcn", "params": {"k": 5}},
    )
    got = checks.registry_facts(config)
    assert got["refiners"] == ["dec", "gcn"]
    assert got["graphs"] == {"gcn": {"k": 5, "metric": "euclidean"}}  # metric: SDCN's default


def test_registry_facts_are_computed_once_per_config_and_code(tmp_path, monkeypatch):
    config = _config(gcn={"method": "sdcn", "params": {}})
    first = checks.cached_registry_facts(config, tmp_path)
    assert len(list(tmp_path.glob("registry-*.json"))) == 1

    def not_again(config):
        raise AssertionError("checked again")

    monkeypatch.setattr(checks, "registry_facts", not_again)
    assert checks.cached_registry_facts(config, tmp_path) == first  # from the cache
    with pytest.raises(AssertionError, match="checked again"):  # another config: checked
        checks.cached_registry_facts({**config, "seeds": [1]}, tmp_path)
    monkeypatch.setattr(checks, "code_fingerprint", lambda: "edited")
    with pytest.raises(AssertionError, match="checked again"):  # edited code: checked
        checks.cached_registry_facts(config, tmp_path)


def test_a_bad_config_is_refused_every_time_and_never_cached(tmp_path):
    config = _config(bad={"method": "no_such_method"})
    for _ in range(2):
        with pytest.raises(ConfigError, match="clusterers.bad.method"):
            checks.cached_registry_facts(config, tmp_path)
    assert not list(tmp_path.glob("registry-*"))


def test_code_fingerprint_changes_when_a_module_changes(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = checks.code_fingerprint(tmp_path)
    (tmp_path / "a.py").write_text("x = 12\n")
    assert checks.code_fingerprint(tmp_path) != before
    edited = checks.code_fingerprint(tmp_path)
    os.utime(tmp_path / "a.py", ns=(1, 1))  # touched, content unchanged: the same code
    assert checks.code_fingerprint(tmp_path) == edited
