"""One job per run folder (deepclust.run_lock): the second fails at once naming the first; the
lock goes with the process, however it ends."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from deepclust.run_lock import RunBusyError, hold_run

HOLDER = """
import sys, time
from deepclust.run_lock import hold_run
with hold_run(sys.argv[1], "pretraining"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_holder_is_refused_naming_the_first_until_it_dies(tmp_path):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert first.stdout.readline().strip() == "held"
        holder = json.loads((tmp_path / ".lock").read_text())
        assert holder["pid"] == first.pid and holder["what"] == "pretraining"
        tic = time.monotonic()
        with pytest.raises(
            RunBusyError, match=rf"pretraining \(PID {first.pid} on .*kill {first.pid}"
        ):
            with hold_run(tmp_path, "pretraining"):
                pass
        assert time.monotonic() - tic < 5
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    with hold_run(tmp_path, "pretraining") as lock:  # SIGKILL released it
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    with hold_run(tmp_path, "refinement"):  # and so does leaving the block
        pass


def test_a_refused_pretraining_leaves_the_running_jobs_log_whole(tmp_path, capsys):
    """The job refused by the lock has written nothing: the log is the running job's."""
    import numpy as np

    from deepclust.io import write_h5
    from deepclust.stages import logged, run_pretrain

    data = tmp_path / "data.h5"
    images = np.zeros((8, 1, 8, 8), dtype=np.float32)
    write_h5(data, {"images": images, "labels": np.zeros(8, dtype=np.int64)}, {"n_clusters": 2})
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    log_file = tmp_path / "pretrain.log"
    log_file.write_text("epoch 7/200 of the job that holds the run\n")
    with hold_run(run_dir, "pretraining"):  # the running job
        with pytest.raises(RunBusyError), logged(str(log_file)):
            run_pretrain(
                str(data),
                {"model": "dense_ae", "epochs": 1, "model_args": {"hidden_dims": [4]}},
                seed=0,
                device="cpu",
                model_path=str(run_dir / "model.pt"),
                log_csv=str(run_dir / "train_log.csv"),
                checkpoint_path=str(run_dir / "checkpoint.pt"),
            )
    assert log_file.read_text() == "epoch 7/200 of the job that holds the run\n"
    assert "left to the job that holds the run" in capsys.readouterr().err
    with logged(str(log_file)):  # a job that holds its run writes its log afresh
        pass
    assert log_file.read_text() == ""
