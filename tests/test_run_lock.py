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
