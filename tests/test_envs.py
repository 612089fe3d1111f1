"""envs/deepclust.yaml (for --sdm conda) must ask for what pyproject.toml asks for."""

import tomllib

import yaml

from conftest import REPO


def test_conda_env_matches_pyproject_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    env = yaml.safe_load((REPO / "envs" / "deepclust.yaml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert sorted(pip_section) == sorted(project)
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python="))
    assert python == "python=3.11"


def test_every_rule_that_runs_code_has_the_env_log_and_benchmark():
    for smk in (REPO / "workflow" / "rules").glob("*.smk"):
        for block in smk.read_text().split("\nrule ")[1:]:
            name = block.split(":")[0]
            assert "log:" in block, f"{smk.name}: rule {name} has no log"
            assert "benchmark:" in block, f"{smk.name}: rule {name} has no benchmark"
            if "script:" in block:
                assert "conda:" in block, f"{smk.name}: rule {name} has no conda env"


def test_what_snakemakes_own_report_imports_is_installed_with_the_package():
    """``snakemake --report report.zip`` needs pygments, which only snakemake's ``reports``
    extra brings: on a plain install (the README's first command) the report failed (issue 35)."""
    from importlib.metadata import requires

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    assert 'pygments; extra == "reports"' in (requires("snakemake") or [])
    assert any(d.startswith("snakemake[reports]") for d in project)
