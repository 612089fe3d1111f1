"""Results depend on code through recorded versions (deepclust.code_versions), not through a
script's modification time: a comment, a docstring or a reformatting changes nothing; a change
that alters results raises its stage's version, which reaches that stage's params alone."""

import json

import pytest

from deepclust import code_versions, spec


def test_every_stages_code_matches_its_recorded_fingerprint():
    """Fails when a stage's code changed since it was recorded. Decide: if results change, run
    ``python -m deepclust.code_versions --bump STAGE`` (its results and what follows rerun);
    for a refactor, ``python -m deepclust.code_versions --record`` (nothing reruns)."""
    assert set(code_versions.recorded()) == set(code_versions.STAGES)
    assert code_versions.stale() == [], code_versions.__doc__.split("\n\n")[-1]


def test_comments_docstrings_and_formatting_keep_the_fingerprint_a_change_does_not(
    tmp_path, monkeypatch
):
    monkeypatch.setitem(code_versions.STAGES, "toy", ("toy.py",))
    module = tmp_path / "toy.py"
    module.write_text('"""Doc."""\n\ndef f(x):\n    """Twice."""\n    return 2 * x\n')
    before = code_versions.fingerprint("toy", tmp_path)
    module.write_text(
        '"""Another doc."""\n\n\ndef f(x):  # a comment\n    """Two times x."""\n'
        "    return (2 *\n            x)\n"
    )
    assert code_versions.fingerprint("toy", tmp_path) == before
    module.write_text('"""Doc."""\n\ndef f(x):\n    return 3 * x\n')
    assert code_versions.fingerprint("toy", tmp_path) != before


def test_a_raised_version_reaches_its_stages_params_alone(tmp_path, monkeypatch):
    config = {
        "datasets": {"digits": {"source": "digits"}},
        "extractors": {"pixels": {"model": "pixels"}},
        "clusterers": {"kmeans": {"method": "kmeans", "params": {"n_init": 2}}},
        "experiments": {"px": {"extractor": "pixels", "clusterer": "kmeans"}},
    }
    plan = spec.resolve(config, tmp_path)
    today = plan.params("clusterers", "kmeans", "cluster")
    assert "code_version" not in today  # version 1: the params results were recorded with
    recorded = json.loads(code_versions.VERSIONS.read_text())
    recorded["cluster"]["version"] = 2
    monkeypatch.setattr(code_versions, "recorded", lambda: recorded)
    assert plan.params("clusterers", "kmeans", "cluster") == {**today, "code_version": 2}
    assert "code_version" not in plan.params("clusterers", "kmeans", "refine")
    assert "code_version" not in plan.params("datasets", "digits", "preprocess")


def test_the_command_bumps_and_records(tmp_path, monkeypatch, capsys):
    copy = tmp_path / "code_versions.json"
    copy.write_text(code_versions.VERSIONS.read_text())
    monkeypatch.setattr(code_versions, "VERSIONS", copy)
    code_versions.recorded.cache_clear()
    try:
        assert code_versions.main(["--bump", "cluster"]) == 0
        assert json.loads(copy.read_text())["cluster"]["version"] == 2
        assert "cluster: version 2, code as recorded" in capsys.readouterr().out
        with pytest.raises(SystemExit):
            code_versions.main(["--bump", "clustering"])
        assert "unknown stage(s) ['clustering']" in capsys.readouterr().err
    finally:
        code_versions.recorded.cache_clear()
