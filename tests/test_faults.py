"""Faults: the whole run killed with SIGKILL in the middle of each stage, and two runs at once.

The kill is injected, not timed: a ``sitecustomize`` put on ``PYTHONPATH`` wraps ``os.replace``
in every Python process of the run, and when a stage is about to move a finished temporary file
onto one of its outputs (the last step of every write, ``deepclust.io.atomic_path``), it sends
SIGKILL to the run's whole process group: the job and Snakemake itself, as an out-of-memory
killer or a lost node would. That is the worst moment: all the work is done and nothing is
published. The next run must complete, after the ``--unlock`` Snakemake asks for, with results
identical to an uninterrupted run (CPU, same seed).
"""

import contextlib
import json
import os
import signal
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from conftest import SHARED_DATASETS, report_file, small_dense_ae, snakemake_command

SITECUSTOMIZE = textwrap.dedent(
    """
    import fnmatch
    import os
    import signal

    _pattern = os.environ.get("DEEPCLUST_TEST_KILL_AT")
    if _pattern:
        _after = int(os.environ.get("DEEPCLUST_TEST_KILL_AFTER", "1"))
        _seen = 0
        _replace = os.replace

        def replace(src, dst, *args, **kwargs):
            global _seen
            if fnmatch.fnmatch(os.path.abspath(dst), _pattern):
                _seen += 1
                if _seen >= _after:
                    os.killpg(os.getpgrp(), signal.SIGKILL)
            return _replace(src, dst, *args, **kwargs)

        os.replace = replace
    """
)

TARGET = report_file("summary")


def config(mnist: bool = False) -> dict:
    """Bundled digits, a dense AE trained 8 epochs (checkpoint every 2), K-means; optionally the
    downloaded MNIST test split on pixels."""
    datasets = {"digits": {"source": "digits"}}
    experiments = {"ae_kmeans": {"extractor": "dense_ae", "clusterer": "kmeans"}}
    if mnist:
        datasets = {"mnist_test": {"source": "mnist_test"}}
        experiments = {"pixels_kmeans": {"extractor": "pixels", "clusterer": "kmeans"}}
    return {
        "device": "cpu",
        "seeds": [0],
        "data": {"mirror": [str(SHARED_DATASETS)]},
        "datasets": datasets,
        "extractors": {
            "pixels": {"model": "pixels"},
            "dense_ae": small_dense_ae(epochs=8, checkpoint_every=2),
        },
        "clusterers": {"kmeans": {"method": "kmeans", "params": {"n_init": 2}}},
        "experiments": experiments,
    }


def start(workdir: Path, cfg: dict, *args: str, env: dict | None = None) -> subprocess.Popen:
    """Snakemake on ``workdir`` in a process group of its own (the group a fault kills), with
    Ctrl-C's default action, as a terminal's foreground job has it: a suite started in the
    background of a non-interactive shell (``nohup .ci/run &``) passes SIGINT down ignored."""
    return subprocess.Popen(
        snakemake_command(workdir, cfg, TARGET, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        env={**os.environ, **(env or {})},
    )


def run(workdir: Path, cfg: dict, *args: str, env: dict | None = None) -> tuple[int, str]:
    proc = start(workdir, cfg, *args, env=env)
    out, _ = proc.communicate(timeout=600)
    return proc.returncode, out


def results(workdir: Path) -> dict[str, str]:
    """Every published file a run's numbers depend on, by path: summary rows (runtimes and paths
    dropped) and the metrics of each run, as text."""

    def stable(metrics: dict) -> dict:
        drop = {"runtime_s", "environment", "seconds_per_iteration"}
        return {k: v for k, v in metrics.items() if k not in drop}

    out = {}
    for path in sorted((workdir / "results").rglob("metrics.json")):
        out[str(path.relative_to(workdir))] = json.dumps(stable(json.loads(path.read_text())))
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted run's numbers."""
    workdir = tmp_path_factory.mktemp("reference")
    rc, out = run(workdir, config())
    assert rc == 0, out
    return results(workdir)


@pytest.fixture
def killer(tmp_path) -> Path:
    folder = tmp_path / "inject"
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(SITECUSTOMIZE)
    return folder


def kill_then_resume(workdir: Path, cfg: dict, killer: Path, pattern: str, after: int = 1) -> str:
    """Run until the first write matching ``pattern`` (its ``after``-th), killed there; then
    what a user does: the plain rerun names the stale lock (or the outputs the dead job left
    half-written, such as a training log), ``--unlock``, ``--rerun-incomplete``. Returns the
    killed run's output."""
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(killer), os.environ.get("PYTHONPATH")])),
        "DEEPCLUST_TEST_KILL_AT": pattern,
        "DEEPCLUST_TEST_KILL_AFTER": str(after),
    }
    rc, killed = run(workdir, cfg, env=env)
    assert rc == -signal.SIGKILL, f"the run was not killed at {pattern}:\n{killed}"
    if after == 1:
        output = workdir / pattern.lstrip("*/")
        assert not output.exists(), f"{output} was published by the killed run"

    rc, out = run(workdir, cfg)  # refused: the dead run's lock, or its half-written outputs
    assert rc != 0 and ("cannot be locked" in out or "IncompleteFilesException" in out), out
    rc, out = run(workdir, cfg, "--unlock")
    assert rc == 0, out
    rc, out = run(workdir, cfg, "--rerun-incomplete")
    assert rc == 0, out
    return killed


@pytest.mark.slow
@pytest.mark.parametrize(
    "pattern, after",
    [
        ("*/data/processed/digits.h5", 1),
        ("*/results/digits/dense_ae/seed0/checkpoint.pt", 3),  # writing epoch 6's, of 8
        ("*/results/digits/dense_ae/seed0/model.pt", 1),
        ("*/results/digits/dense_ae/seed0/features.h5", 1),
        ("*/results/digits/dense_ae/seed0/kmeans/metrics.json", 1),
    ],
    ids=["preprocess", "pretrain", "pretrain-end", "features", "cluster"],
)
def test_killed_stage_reruns_to_the_uninterrupted_result(
    tmp_path, killer, reference, pattern, after
):
    workdir = tmp_path / "run"
    workdir.mkdir()
    kill_then_resume(workdir, config(), killer, pattern, after)
    assert results(workdir) == reference
    if "checkpoint" in pattern:  # resumed, not restarted
        log = (workdir / "results/logs/pretrain/digits/dense_ae/seed0.log").read_text()
        assert "at epoch 4" in log, log


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED_DATASETS / "mnist").is_dir(),
    reason="the shared MNIST test-split mirror is not beside this checkout",
)
def test_killed_download_reruns_to_the_uninterrupted_result(tmp_path, killer):
    cfg = config(mnist=True)
    clean = tmp_path / "clean"
    clean.mkdir()
    rc, out = run(clean, cfg)
    assert rc == 0, out

    workdir = tmp_path / "run"
    workdir.mkdir()
    kill_then_resume(workdir, cfg, killer, "*/data/raw/mnist_test/t10k-labels-idx1-ubyte.gz")
    assert results(workdir) == results(clean)


def wait_for_training(workdir: Path, proc: subprocess.Popen) -> Path:
    """Wait until the run's pretraining job has finished an epoch; its log."""
    log = workdir / "results/logs/pretrain/digits/dense_ae/seed0.log"
    deadline = time.monotonic() + 300
    while "epoch 1/" not in (log.read_text() if log.exists() else ""):
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "pretraining never started"
        time.sleep(0.2)
    return log


@pytest.mark.slow
def test_second_run_in_the_same_folder_refuses_and_the_first_completes(tmp_path):
    cfg = config()
    cfg["extractors"]["dense_ae"]["epochs"] = 60
    first = start(tmp_path, cfg)
    wait_for_training(tmp_path, first)

    # refused: by the lock, or (checked first) by the running job's outputs, which Snakemake
    # reports as incomplete; asked to rerun those, it still stops at the lock, deleting nothing
    rc, out = run(tmp_path, cfg)
    assert rc != 0 and ("cannot be locked" in out or "IncompleteFilesException" in out), out
    rc, out = run(tmp_path, cfg, "--rerun-incomplete")
    assert rc != 0 and "cannot be locked" in out, out
    assert first.poll() is None, "a refused run stopped the first one"
    out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, out
    assert (tmp_path / TARGET).exists()


@pytest.mark.slow
def test_an_orphaned_trainer_keeps_its_run_and_a_second_trainer_is_refused(tmp_path):
    """``kill -KILL`` of the Snakemake process alone (not its group) leaves its pretraining job
    running; after ``--unlock``, ``--rerun-incomplete`` must not start a second trainer on the
    same checkpoint: the job fails at once naming the orphan (issue 35)."""

    cfg = config()
    cfg["extractors"]["dense_ae"]["epochs"] = 100_000  # runs until the test stops it
    first = start(tmp_path, cfg)
    log = wait_for_training(tmp_path, first)
    os.kill(first.pid, signal.SIGKILL)  # Snakemake only: its job lives on as an orphan
    first.wait()
    first.stdout.close()  # the orphan holds the pipe's other end: never read it to its end
    lock = tmp_path / "results/digits/dense_ae/seed0/.lock"
    orphan = json.loads(lock.read_text())["pid"]
    try:
        os.kill(orphan, 0)  # alive
        rc, out = run(tmp_path, cfg, "--unlock")
        assert rc == 0, out
        tic = time.monotonic()
        rc, out = run(tmp_path, cfg, "--rerun-incomplete")
        said = out + (log.read_text(errors="replace") if log.exists() else "")
        assert rc != 0 and f"PID {orphan}" in said and "is still running on this run" in said, said
        assert time.monotonic() - tic < 120  # at once, not after a second training
        os.kill(orphan, 0)  # the orphan was left alone
    finally:
        try:
            os.kill(orphan, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_an_interrupt_stops_the_trainer_within_seconds_and_leaves_no_half_written_output(
    tmp_path,
):
    """Ctrl-C (SIGINT to the run's process group, as a terminal sends it) stops a pretraining
    job within seconds; its log was never under the output's name, and the next run resumes
    from the checkpoint (issue 35)."""
    cfg = config()
    cfg["extractors"]["dense_ae"]["epochs"] = 100_000
    run_dir = tmp_path / "results/digits/dense_ae/seed0"
    proc = start(tmp_path, cfg)
    try:
        deadline = time.monotonic() + 300
        while not (run_dir / "checkpoint.pt").exists():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "pretraining never checkpointed"
            time.sleep(0.2)
        assert (run_dir / "train_log.live.csv").exists()
        assert not (run_dir / "train_log.csv").exists()
        lock = json.loads((run_dir / ".lock").read_text())["pid"]
        tic = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=120)
        gone = time.monotonic()
        while True:  # the trainer itself, not only Snakemake
            try:
                os.kill(lock, 0)
            except ProcessLookupError:
                break
            assert time.monotonic() - tic < 30, "the trainer outlived the interrupt"
            time.sleep(0.2)
        assert gone - tic < 30, out[-3000:]
    finally:  # a failed check must not leave a 100,000-epoch training behind for later tests
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    assert not (run_dir / "train_log.csv").exists() and not (run_dir / "model.pt").exists()
    assert (run_dir / "checkpoint.pt").exists()
