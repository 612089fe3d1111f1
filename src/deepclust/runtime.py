"""What a run used: seeding, device and precision choice, the package versions written next
to every result, and the job's log file and thread limits (:func:`logged`).

torch is imported inside the functions that need it, so a clustering job that never touches
torch does not pay for importing it.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import itertools
import logging
import os
import platform
import random
import sys
import tempfile
import traceback
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from threadpoolctl import threadpool_limits

if TYPE_CHECKING:
    import torch

_REPORTED_PACKAGES = (
    "deepclust",
    "torch",
    "torchvision",
    "numpy",
    "scipy",
    "scikit-learn",
    "h5py",
    "umap-learn",
    "torch-geometric",
    "snakemake",
)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so a CPU run is repeatable."""
    random.seed(seed)
    np.random.seed(seed % 2**32)  # noqa: NPY002  libraries that use the global state (umap)
    if "torch" in sys.modules:  # nothing to seed where torch is not in use
        sys.modules["torch"].manual_seed(seed)


def scheduler_gpu_request(env: Mapping[str, str] | None = None) -> str | None:
    """Say so when a batch scheduler gave this job GPUs (SLURM's variables), else ``None``."""
    env = os.environ if env is None else env
    if not env.get("SLURM_JOB_ID"):
        return None
    for name in ("SLURM_JOB_GPUS", "SLURM_STEP_GPUS"):
        if env.get(name, "").strip():
            return f"SLURM job {env['SLURM_JOB_ID']} was given GPUs ({name}={env[name]})"
    if env.get("SLURM_GPUS_ON_NODE", "0").strip() not in {"", "0"}:
        return (
            f"SLURM job {env['SLURM_JOB_ID']} was given GPUs "
            f"(SLURM_GPUS_ON_NODE={env['SLURM_GPUS_ON_NODE']})"
        )
    return None


_held_gpu_slots: list = []  # open lock files: a slot is held until the process exits


def claim_gpu(n_devices: int, lock_dir: str | Path | None = None) -> int:
    """The index of the least-shared of ``n_devices`` visible GPUs, held for this process.

    Snakemake's ``gpu`` resource counts concurrent GPU jobs, not GPUs: with ``--resources
    gpu=2`` on a two-GPU machine each job must take its own GPU, and with ``gpu=3`` on one GPU
    three jobs share it. Every job takes a slot with an exclusive ``flock`` on a file in
    ``lock_dir`` (``$DEEPCLUST_GPU_LOCKS``, default a per-user folder in the temp dir): slot 0 of
    every GPU first, then slot 1, and so on. The kernel drops the lock when the process ends,
    however it ends, so a killed job never leaves a GPU marked busy.
    """
    import fcntl

    if n_devices < 1:
        raise ValueError("no CUDA device to claim")
    if n_devices == 1:
        return 0
    folder = Path(
        lock_dir
        or os.environ.get("DEEPCLUST_GPU_LOCKS")
        or Path(tempfile.gettempdir()) / f"deepclust-gpu-locks-{os.getuid()}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    for slot in itertools.count():
        for index in range(n_devices):
            handle = open(folder / f"gpu{index}.slot{slot}", "a")  # noqa: SIM115  held open
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            _held_gpu_slots.append(handle)
            return index
    raise AssertionError("unreachable")


def configure_cuda() -> None:
    """The fast defaults on NVIDIA GPUs: TF32 for float32 matmuls and convolutions (Ampere and
    later; the float32 results we compare are clustering ACC, not bits) and cuDNN's autotuner
    (input shapes are fixed within a job)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = True
    torch.backends.cudnn.allow_tf32 = True
    torch.backends.cudnn.benchmark = True


def flush_denormals() -> bool:
    """Treat float32 values under 1.2e-38 as zero on this CPU (x86 FTZ/DAZ), in this thread and
    the torch threads it starts; returns whether the CPU can.

    A ReLU unit that stops firing leaves Adam's first moment decaying by beta1 each step, through
    the denormal range, where every multiply takes a microcode detour: on a 2-core x86 machine a
    fused Adam step over a million such values took 31 ms instead of 1 ms, and the dense AE on
    full MNIST slowed from 8,900 to 3,800 img/s over its first 65 epochs (bench/RESULTS.md).
    Values that small change no update (they are divided by sqrt(v) + eps), so nothing else
    moves. Called before torch starts its thread pool (:func:`resolve_device`)."""
    import torch

    return torch.set_flush_denormal(True)


#: glibc's ``mallopt`` parameters (``malloc.h``) and its ceiling on the mmap threshold on 64-bit
#: Linux (half of ``HEAP_MAX_SIZE``); a larger value is refused.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024
_freed_memory_kept = False


def keep_freed_memory(trim_threshold: int = 1 << 30) -> bool:
    """Have glibc's malloc keep the blocks a training step frees for the next step, instead of
    handing them back to the kernel; returns whether it now does (``False`` off glibc).

    By default glibc serves a block over 128 KiB-32 MiB (its threshold moves) with a fresh
    ``mmap`` and unmaps it on free, and returns a heap top over its trim threshold: every step
    of a small network then re-faults its activations page by page (a zeroed 4 KiB page per
    fault). ASCAE on 28x28 at batch 256 took 13,900 page faults a step, the CAE 7,400, the
    Res-VAE 19,400; with blocks under 32 MiB taken from the heap and up to ``trim_threshold``
    of free heap kept, 12-860 on every model, and ASCAE, SCAE, DDECN and the CAE ran 6-24 %
    faster (bench/allocator.py, bench/RESULTS.md). The cost is that a
    process keeps its peak heap until it exits, which a job that ends after training pays
    anyway. Idempotent; called by :func:`resolve_device`."""
    global _freed_memory_kept
    if _freed_memory_kept:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    import ctypes

    libc = ctypes.CDLL(None)
    _freed_memory_kept = bool(
        libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
        and libc.mallopt(_M_TRIM_THRESHOLD, int(trim_threshold))
    )
    return _freed_memory_kept


def resolve_device(device: str = "auto", threads: int | None = None) -> torch.device:
    """Map the config value ``auto|cpu|cuda|cuda:N`` to a torch device, failing clearly.

    ``cuda`` (and ``auto`` on a machine with CUDA) takes the least-shared visible GPU
    (:func:`claim_gpu`); ``cuda:N`` must be one of the visible GPUs. ``auto`` without a usable
    GPU runs on the CPU, except in a scheduler job that was given GPUs: that is a broken CUDA
    install or a CPU-only torch, and training hours on the CPU instead would hide it.
    ``threads`` caps torch's CPU thread pool (the job's Snakemake ``threads``).
    """
    import torch

    flush_denormals()
    keep_freed_memory()
    if threads:
        torch.set_num_threads(int(threads))
    if device == "auto":
        if not torch.cuda.is_available():
            granted = scheduler_gpu_request()
            if granted:
                raise RuntimeError(
                    f"config key 'device' is 'auto' and {granted}, but torch "
                    f"{torch.__version__} (CUDA build: {torch.version.cuda}) sees no usable "
                    "CUDA device; install a CUDA build of torch, or set device: cpu to run on "
                    "the CPU on purpose"
                )
            return torch.device("cpu")
        device = "cuda"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"config key 'device' is {device!r} but no CUDA device is available")
    try:
        chosen = torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"config key 'device' must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        ) from err
    if chosen.type == "cuda":
        count = torch.cuda.device_count()
        if chosen.index is None:
            chosen = torch.device("cuda", claim_gpu(count))
        elif chosen.index >= count:
            raise ValueError(
                f"config key 'device' is {device!r} but this job sees {count} CUDA device(s) "
                f"(0-{count - 1}; CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')})"
            )
        torch.cuda.set_device(chosen)
        configure_cuda()
    return chosen


#: CPU features with which oneDNN computes bf16 natively (``torch.cpu.get_capabilities()``,
#: read by cpuinfo). Without them a bf16 matmul is emulated: oneDNN still *accepts* bf16
#: (``torch.ops.mkldnn._is_mkldnn_bf16_supported()`` is true on any AVX-512 CPU), but on an
#: AVX-512 CPU without avx512_bf16 it ran at a fifth of float32's speed (bench/RESULTS.md).
CPU_BF16_FEATURES = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bfloat16 in hardware (AVX512-BF16 or AMX), asked of torch."""
    import torch

    capabilities = torch.cpu.get_capabilities()
    return any(capabilities.get(feature, False) for feature in CPU_BF16_FEATURES)


def check_amp(amp: object) -> bool | str:
    """``amp`` as the config may spell it: ``"auto"``, ``True`` or ``False``."""
    if isinstance(amp, bool) or amp == "auto":
        return amp
    raise ValueError(f"config key 'amp' must be auto, true or false, got {amp!r}")


def autocast_dtype(device: torch.device, amp: bool | str = "auto") -> torch.dtype | None:
    """The mixed-precision type a run computes in: ``torch.bfloat16`` (autocast) or ``None``
    (float32).

    ``amp: auto`` takes bf16 wherever the hardware computes it natively: CUDA GPUs with bf16
    (Ampere and later) and CPUs with AVX512-BF16 or AMX (:func:`cpu_has_native_bf16`); elsewhere
    float32, since emulated bf16 is slower than float32 and fp16 would need loss scaling the
    objectives were not written for. ``amp: true`` takes bf16 on any device that can run it
    at all (to compare precisions on a machine without native bf16); ``amp: false`` never.
    """
    import torch

    amp = check_amp(amp)
    if amp is False:
        return None
    if device.type == "cuda":
        native = torch.cuda.is_bf16_supported(including_emulation=False)
        if amp is True and not native:
            if not torch.cuda.is_bf16_supported(including_emulation=True):
                raise ValueError(
                    f"config key 'amp' is true but {device} cannot compute bfloat16; "
                    "set amp: auto or false"
                )
            return torch.bfloat16
        return torch.bfloat16 if native else None
    if device.type == "cpu":
        return torch.bfloat16 if amp is True or cpu_has_native_bf16() else None
    return torch.bfloat16 if amp is True else None


def precision_name(dtype: torch.dtype | None) -> str:
    """``"bf16-autocast"`` or ``"fp32"``, as written to training logs and metrics.json."""
    return "fp32" if dtype is None else "bf16-autocast"


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a result depends on (absent ones are skipped)."""
    versions = {}
    for name in _REPORTED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def environment_info(device: torch.device | None = None) -> dict:
    """Versions, Python, host and device facts for the provenance block of a result."""
    info = {
        "packages": package_versions(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
    }
    if "torch" in sys.modules:
        info["torch_threads"] = sys.modules["torch"].get_num_threads()
    if device is not None:
        info["device"] = str(device)
        if device.type == "cuda":
            info["device_name"] = sys.modules["torch"].cuda.get_device_name(device)
        elif device.type == "cpu":
            info["cpu_native_bf16"] = cpu_has_native_bf16()
    info["malloc_keeps_freed"] = _freed_memory_kept
    if "torch" in sys.modules:  # a denormal times one reads as zero once they are flushed
        torch_ = sys.modules["torch"]
        info["flush_denormal"] = (torch_.tensor([1e-39]) * 1.0).item() == 0.0
    return info


log = logging.getLogger("deepclust")
#: a job's exit status after Ctrl-C (128 + SIGINT, as a shell reports it)
INTERRUPTED = 130


@contextlib.contextmanager
def logged(log_path: str | Path | None, threads: int | None = None) -> Iterator[logging.Logger]:
    """Send the package's log to the job's log file, record any exception with its traceback,
    and hold the job to its ``threads`` (torch, BLAS and OpenMP pools).

    The file is opened (and emptied) at the first record, not before: a job refused because
    another holds its run (:class:`~deepclust.run_lock.RunBusyError`, raised before the stage
    logs anything) says why on stderr and leaves the log, which the running job writes, whole."""
    from deepclust.run_lock import RunBusyError

    handler: logging.Handler = (
        logging.FileHandler(log_path, mode="w", delay=True)
        if log_path
        else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    limits = threadpool_limits(int(threads)) if threads else contextlib.nullcontext()
    try:
        with limits:
            yield log
    except RunBusyError as err:
        if log_path and getattr(handler, "stream", None) is None:  # nothing written: not ours
            log.removeHandler(handler)
            print(f"{log_path} left to the job that holds the run: {err}", file=sys.stderr)
        else:
            log.error("failed:\n%s", traceback.format_exc())
        raise
    except KeyboardInterrupt:  # Ctrl-C: one line, not a traceback per job on the terminal
        log.warning("stopped by Ctrl-C; a pretraining resumes from its last checkpoint")
        raise SystemExit(INTERRUPTED) from None
    except Exception:
        log.error("failed:\n%s", traceback.format_exc())
        raise
    else:
        if log_path and getattr(handler, "stream", None) is None:  # a job that logged nothing
            Path(log_path).write_text("")
    finally:
        log.removeHandler(handler)
        handler.close()
