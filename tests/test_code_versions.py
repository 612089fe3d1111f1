"""Results depend on code through recorded versions (deepclust.code_versions), not through a
script's modification time: a comment, a docstring or a reformatting changes nothing; a change
that alters results raises its stage's version, which reaches that stage's params alone."""

import json
import shutil

import pytest

from deepclust import code_versions
from deepclust.clustering import CLUSTERERS
from deepclust.config import resolve
from deepclust.models import MODELS


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


@pytest.fixture
def package_copy(tmp_path):
    """A copy of the package's code to edit, as a new method's author would."""
    copy = tmp_path / code_versions.PACKAGE.name
    shutil.copytree(code_versions.PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_a_clusterer_module_added_is_fingerprinted_with_no_list_edited(package_copy):
    """Registering the class is all a new clusterer takes: the stages reach its module through
    the registry's string, and what it imports (relative imports too) through its imports."""
    (package_copy / "clustering" / "toy.py").write_text(
        "from . import toy_helper\n\nclass Toy:\n    k = toy_helper.K\n"
    )
    helper = package_copy / "clustering" / "toy_helper.py"
    helper.write_text("K = 2\n")
    base = package_copy / "clustering" / "base.py"
    base.write_text(
        base.read_text().replace(
            "CLUSTERERS: dict[str, str] = {\n",
            'CLUSTERERS: dict[str, str] = {\n    "toy": "deepclust.clustering.toy:Toy",\n',
        )
    )
    for stage in ("cluster", "refine"):
        modules = code_versions.stage_modules(stage, package_copy)
        assert {"clustering/toy.py", "clustering/toy_helper.py"} <= set(modules)
    before = code_versions.fingerprint("cluster", package_copy)
    helper.write_text("K = 3\n")
    assert code_versions.fingerprint("cluster", package_copy) != before


def test_a_change_in_a_helper_a_stage_imports_changes_its_fingerprint(package_copy):
    """``training.py`` takes precision, denormal flushing and threads from ``runtime.py``: a
    change there changes how networks train, so it changes the pretraining's fingerprint."""
    assert "runtime.py" in code_versions.stage_modules("pretrain", package_copy)
    before = code_versions.fingerprint("pretrain", package_copy)
    runtime = package_copy / "runtime.py"
    runtime.write_text(runtime.read_text() + "\n\ndef another_helper():\n    return 1\n")
    assert code_versions.fingerprint("pretrain", package_copy) != before


def test_a_name_from_a_lazy_package_face_counts_the_module_that_defines_it():
    """``stages/pretrain.py`` takes PIXELS from ``deepclust.config``, whose face loads it from
    ``config/terms.py`` on first use: that module, not the whole config layer, is its code."""
    modules = code_versions.stage_modules("pretrain")
    assert {"config/__init__.py", "config/terms.py", "stages/__init__.py"} <= set(modules)
    assert "config/plan.py" not in modules


def test_every_registered_model_and_clusterer_module_is_in_a_stage():
    covered = {m for stage in code_versions.STAGES for m in code_versions.stage_modules(stage)}
    for target in [*MODELS.values(), *CLUSTERERS.values()]:
        module = target.split(":")[0].split(".", 1)[1].replace(".", "/") + ".py"
        assert module in covered, f"{target} is in no stage's code"


def test_a_stage_whose_entry_module_is_gone_is_refused(tmp_path, monkeypatch):
    monkeypatch.setitem(code_versions.STAGES, "toy", ("stages/gone.py",))
    with pytest.raises(ValueError, match=r"stage 'toy': no module \['stages/gone.py'\]"):
        code_versions.fingerprint("toy", tmp_path)


def test_a_raised_version_reaches_its_stages_params_alone(tmp_path, monkeypatch):
    config = {
        "datasets": {"digits": {"source": "digits"}},
        "extractors": {"pixels": {"model": "pixels"}},
        "clusterers": {"kmeans": {"method": "kmeans", "params": {"n_init": 2}}},
        "experiments": {"px": {"extractor": "pixels", "clusterer": "kmeans"}},
    }
    plan = resolve(config, tmp_path)
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
