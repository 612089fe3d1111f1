"""One job per run folder: a lock held for the job's life.

Snakemake's own lock guards a working directory against a second Snakemake, not against a job
that outlived the Snakemake that started it (``kill`` of the Snakemake process alone leaves its
pretraining running as an orphan). A second Snakemake, after ``--unlock``, would start a second
trainer on the same checkpoint while the orphan still writes it, and the last writer would win.
:func:`hold_run` takes an exclusive ``flock`` on ``{folder}/.lock`` for the job's life: the kernel
releases it when the process ends in any way (even SIGKILL), and a second job fails at once,
naming the live one's process.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: the lock file inside a run folder (not an output: Snakemake never deletes it)
LOCK_NAME = ".lock"


class RunBusyError(RuntimeError):
    """Another live job holds the run folder."""


@contextmanager
def hold_run(folder: str | Path, what: str) -> Iterator[Path]:
    """Hold ``folder``'s lock while the block runs; raise :class:`RunBusyError` at once, naming
    the holder (its PID, host and start), when another process holds it."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise RunBusyError(_busy_message(folder, what, os.pread(fd, 4096, 0))) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            "what": what,
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(holder).encode(), 0)
        yield path
    finally:
        os.close(fd)  # releases the lock


def _busy_message(folder: Path, what: str, content: bytes) -> str:
    try:
        holder = json.loads(content.decode() or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        holder = {}
    who = (
        f"{holder.get('what', 'a job')} (PID {holder['pid']} on {holder.get('host', '?')}, "
        f"since {holder.get('started', '?')})"
        if "pid" in holder
        else "another process"
    )
    stop = f" or stop it (kill {holder['pid']})" if "pid" in holder else ""
    return (
        f"{folder}: {who} is still running on this run; a second {what} would write the same "
        f"files. Let it finish{stop}, then run again"
    )
