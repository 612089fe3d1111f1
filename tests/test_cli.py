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


@pytest.mark.parametrize("where", ["job", "command"])
def test_ctrl_c_is_one_line_not_a_traceback(where, tmp_path):
    """A Ctrl-C printed a long traceback from every job on the terminal (issue 50): a job says
    it in its log and exits 130, a command says it in one line."""
    import signal
    import time

    body = {
        "job": "from deepclust.runtime import logged\n"
        f"with logged({str(tmp_path / 'job.log')!r}):\n"
        "    print('ready', flush=True); time.sleep(60)\n",
        "command": "import argparse\nfrom deepclust import cli\n"
        "def body():\n    print('ready', flush=True); time.sleep(60)\n"
        "cli.run(argparse.ArgumentParser(prog='deepclust.x'), body)\n",
    }[where]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    # a shell's background job (CI's) starts its children with Ctrl-C ignored: the child takes
    # Python's own handler back, as an interactive terminal's process has it
    preamble = "import signal, time\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
    proc = subprocess.Popen(
        [sys.executable, "-c", preamble + body],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in err, err
    if where == "job":
        assert "stopped by Ctrl-C" in (tmp_path / "job.log").read_text() and not err.strip()
    else:
        assert err.strip() == "deepclust.x: stopped by Ctrl-C"
