"""A throw-away single-node SLURM cluster for the tests: munged, slurmctld and slurmd, run as root
from Debian's `slurm-wlm` and `munge` packages, with everything (config, key, state, sockets,
logs) under one temporary folder so that nothing of the machine's own setup is read or changed.

Clients find the cluster through ``/etc/slurm/slurm.conf``, as on a real site: the executor plugin
strips ``SLURM_*`` variables (``SLURM_CONF`` too) before its nested ``srun``, so a config given
only by environment is lost inside the jobs. The file is a symlink into the temporary folder,
made at start and removed at stop; a machine that already has a ``/etc/slurm/slurm.conf`` is
left alone (the test is skipped there).

The node offers two partitions, ``cpu`` (default) and ``gpu``, and one fake GPU (``Gres=gpu:1``,
``File=/dev/null``), so `--gpus=1` requests are scheduled as on a real site; torch still sees no
CUDA device and the jobs run on the CPU. There is no accounting database: ``sacct`` answers that
accounting is disabled, so a client polls job states with ``squeue``, which keeps finished jobs
for ``MinJobAge`` (an hour here) — the setting a site without slurmdbd uses.

    python tests/slurm_cluster.py   # start one by hand; prints SLURM_CONF, Ctrl-C stops it
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
SYSTEM_CONF = Path("/etc/slurm")


def unavailable_reason() -> str | None:
    """Why a local cluster cannot be started here, or None if it can."""
    if os.name != "posix" or os.geteuid() != 0:
        return "needs root to run slurmctld/slurmd (CI runs it as root)"
    missing = [d for d in DAEMONS + ("sbatch", "squeue", "scontrol") if shutil.which(d) is None]
    if missing:
        return f"needs Debian's slurm-wlm and munge packages (missing: {', '.join(missing)})"
    if (SYSTEM_CONF / "slurm.conf").exists() and not _left_by_us(SYSTEM_CONF / "slurm.conf"):
        return (
            f"{SYSTEM_CONF / 'slurm.conf'} exists: a SLURM is set up here, the test leaves it alone"
        )
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "needs snakemake-executor-plugin-slurm (pip install -e '.[slurm]')"
    return None


def _left_by_us(path: Path) -> bool:
    """A symlink an earlier, killed test run left behind: dangling, or into a folder whose
    slurm.conf is one of ours (so slurm.conf and gres.conf are recognised alike)."""
    if not path.is_symlink():
        return False
    conf = path.resolve().parent / "slurm.conf"
    return not path.exists() or "ClusterName=deepclust-test" in conf.read_text()


def _machine_memory_mb() -> int:
    """What slurmd will find (it refuses a node configured with more), less a little."""
    kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text())[1])
    return int(kb / 1024 * 0.95)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSlurm:
    """Start with ``with LocalSlurm(tmp) as cluster:``; ``cluster.env`` points clients at it."""

    def __init__(self, root: Path, cpus: int | None = None, memory_mb: int | None = None):
        self.root = Path(root)
        self.cpus = cpus or os.cpu_count() or 1
        self.memory_mb = memory_mb or _machine_memory_mb()
        self.host = socket.gethostname()
        self.procs: dict[str, subprocess.Popen] = {}
        self.conf = SYSTEM_CONF / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}
        self._links: list[Path] = []

    # -- configuration ---------------------------------------------------------------------
    def _write_config(self) -> None:
        r = self.root
        r.chmod(0o755)  # munged wants its socket's folders searchable by all
        for sub in ("state", "spool", "log"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        key = r / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        ctld_port, slurmd_port = _free_port(), _free_port()
        (r / "slurm.conf").write_text(
            f"""\
ClusterName=deepclust-test
SlurmctldHost={self.host}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={r}/munge.sock
CredType=cred/munge
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
GresTypes=gpu
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
MinJobAge=3600
DefMemPerCPU=500
ReturnToService=2
NodeName={self.host} CPUs={self.cpus} RealMemory={self.memory_mb} Gres=gpu:1 State=UNKNOWN
PartitionName=cpu Nodes=ALL Default=YES MaxTime=INFINITE State=UP
PartitionName=gpu Nodes=ALL MaxTime=INFINITE State=UP
"""
        )
        (r / "gres.conf").write_text(f"NodeName={self.host} Name=gpu File=/dev/null\n")
        SYSTEM_CONF.mkdir(parents=True, exist_ok=True)
        for name in ("slurm.conf", "gres.conf"):
            link = SYSTEM_CONF / name
            if _left_by_us(link):
                link.unlink()
            if link.exists() or link.is_symlink():
                raise RuntimeError(f"{link} exists: not overwriting this machine's SLURM setup")
            link.symlink_to(r / name)
            self._links.append(link)

    # -- lifecycle -------------------------------------------------------------------------
    def _spawn(self, name: str, *args: str) -> None:
        with open(self.root / "log" / f"{name}.out", "w") as out:  # the child keeps its own copy
            self.procs[name] = subprocess.Popen(
                [name, *args], stdout=out, stderr=subprocess.STDOUT, env=self.env, cwd=self.root
            )

    def start(self, timeout: float = 60) -> LocalSlurm:
        self._write_config()
        r = self.root
        self._spawn(
            "munged",
            "--foreground",
            "--force",
            f"--socket={r}/munge.sock",
            f"--key-file={r}/munge.key",
            f"--pid-file={r}/munged.pid",
            f"--seed-file={r}/munged.seed",
            f"--log-file={r}/log/munged.log",
        )
        self._wait(lambda: (r / "munge.sock").exists(), timeout, "munged's socket")
        self._spawn("slurmctld", "-D", "-i")  # -i: ignore state left by an earlier run
        self._spawn("slurmd", "-D")
        self._wait(self._node_idle, timeout, "the node to come up idle")
        return self

    def _node_idle(self) -> bool:
        out = self.run("sinfo", "--noheader", "--format=%T", check=False).stdout
        return out.split() and all(state == "idle" for state in out.split())

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            dead = [n for n, p in self.procs.items() if p.poll() is not None]
            if dead or time.monotonic() > deadline:
                self.stop()
                logs = "\n".join(
                    f"--- {p.name}\n{p.read_text()[-2000:]}" for p in (self.root / "log").iterdir()
                )
                raise RuntimeError(f"local SLURM: no {what} (exited: {dead})\n{logs}")
            time.sleep(0.2)

    def stop(self) -> None:
        """Cancel what is still queued or running, then stop the daemons this object started,
        by PID, newest first."""
        if "slurmctld" in self.procs and self.procs["slurmctld"].poll() is None:
            self.run("scancel", "--full", "--user", str(os.getuid()), check=False)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and any(
                j["state"] in ("RUNNING", "COMPLETING", "PENDING") for j in self.jobs()
            ):
                time.sleep(0.5)
        for name in reversed(list(self.procs)):
            proc = self.procs.pop(name)
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        while self._links:
            self._links.pop().unlink(missing_ok=True)

    def __enter__(self) -> LocalSlurm:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- clients ---------------------------------------------------------------------------
    def run(self, *cmd: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(cmd, env=self.env, capture_output=True, text=True, check=check)

    def jobs(self) -> list[dict[str, str]]:
        """Every job this cluster has seen (finished ones are kept for MinJobAge), as
        {"id", "state", "partition", "comment", "gpus", "cpus", "restarts"}."""
        out = self.run("scontrol", "--oneliner", "show", "job", check=False).stdout
        jobs = []
        for line in out.splitlines():
            field = dict(re.findall(r"(?:^| )(\w+)=(\S*)", line))
            if "JobId" not in field:
                continue
            gpus = re.search(
                r"gpu:(\d+)", field.get("TresPerJob", "") + field.get("TresPerNode", "")
            )
            jobs.append(
                {
                    "id": field["JobId"],
                    "state": field.get("JobState", ""),
                    "partition": field.get("Partition", ""),
                    "comment": field.get("Comment", ""),
                    "gpus": int(gpus[1]) if gpus else 0,
                    "cpus": int(field.get("NumCPUs", "0") or 0),
                    "restarts": int(field.get("Restarts", "0") or 0),
                }
            )
        return jobs


if __name__ == "__main__":
    import tempfile

    reason = unavailable_reason()
    if reason:
        sys.exit(f"cannot start a local SLURM: {reason}")
    with LocalSlurm(Path(tempfile.mkdtemp(prefix="slurm-"))) as cluster:
        print(f"export SLURM_CONF={cluster.conf}   (Ctrl-C stops the daemons)", flush=True)
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
