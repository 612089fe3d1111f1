"""The ``python -m deepclust.*`` commands: a whole description in --help, and an error the user
can fix in one line naming it, never a traceback (issue 35)."""

import os
import subprocess
import sys

import pytest

COMMANDS = ["deepclust.tables", "deepclust.ledger", "deepclust.config"]


def _run(args, cwd):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.run(
        [sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


@pytest.mark.parametrize("module", COMMANDS)
def test_help_gives_the_whole_first_paragraph(module, tmp_path):
    out = _run([module, "--help"], tmp_path)
    assert out.returncode == 0
    description = out.stdout.split("\n\n")[1]
    assert description.rstrip().endswith("."), description


@pytest.mark.parametrize(
    "args, said",
    [
        (
            ["deepclust.ledger", "build"],
            "no such file (run from the workflow's folder, or pass the path)",
        ),
        (["deepclust.tables", "nothing.csv"], "nothing.csv"),
        (["deepclust.config", "upgrade"], "no .snakemake folder here"),
        (
            ["deepclust.ledger", "record", "nowhere", "--command", "c"],
            "nowhere",
        ),
    ],
)
def test_an_error_outside_the_workflow_folder_is_one_line(args, said, tmp_path):
    out = _run(args, tmp_path)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert said in out.stderr, out.stderr
