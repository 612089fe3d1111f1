"""Device and precision choice without a GPU: which GPU a job takes, what `auto` does in a
SLURM job that was given a GPU it cannot use, and when bf16 autocast is on."""

import subprocess
import sys
import textwrap

import pytest
import torch

from deepclust import runtime
from deepclust.runtime import (
    autocast_dtype,
    claim_gpu,
    cpu_has_native_bf16,
    environment_info,
    precision_name,
    resolve_device,
    scheduler_gpu_request,
)


@pytest.fixture
def release_slots():
    """Close the slots a test claimed in this process (the kernel would at exit)."""
    yield
    while runtime._held_gpu_slots:
        runtime._held_gpu_slots.pop().close()


def test_jobs_spread_over_gpus_then_share_them(tmp_path, release_slots):
    """`--resources gpu=N` counts GPU jobs: each takes the least-shared GPU."""
    assert [claim_gpu(2, tmp_path) for _ in range(5)] == [0, 1, 0, 1, 0]
    assert claim_gpu(1, tmp_path) == 0  # one GPU: no lock needed


def test_a_finished_jobs_gpu_slot_is_free_again(tmp_path, release_slots):
    """The slot is an flock held by the process: it ends with the process, however it ends."""
    script = textwrap.dedent(
        f"""
        import os
        from deepclust.runtime import claim_gpu
        print(claim_gpu(2, {str(tmp_path)!r}))
        os._exit(1)  # no clean-up code runs
        """
    )
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert other.stdout.strip() == "0"
    assert claim_gpu(2, tmp_path) == 0


def test_scheduler_gpu_request_reads_slurms_variables():
    assert scheduler_gpu_request({}) is None
    assert scheduler_gpu_request({"SLURM_JOB_GPUS": "0"}) is None  # not inside a job
    assert scheduler_gpu_request({"SLURM_JOB_ID": "7", "SLURM_GPUS_ON_NODE": "0"}) is None
    assert "SLURM_JOB_GPUS=1" in scheduler_gpu_request({"SLURM_JOB_ID": "7", "SLURM_JOB_GPUS": "1"})
    assert "job 7" in scheduler_gpu_request({"SLURM_JOB_ID": "7", "SLURM_GPUS_ON_NODE": "2"})


def test_auto_refuses_the_cpu_in_a_slurm_job_given_a_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    monkeypatch.setenv("SLURM_JOB_GPUS", "0")
    with pytest.raises(RuntimeError, match="SLURM job 42 was given GPUs.*set device: cpu"):
        resolve_device("auto")
    assert resolve_device("cpu") == torch.device("cpu")  # asked for on purpose
    monkeypatch.delenv("SLURM_JOB_GPUS")
    assert resolve_device("auto") == torch.device("cpu")


@pytest.fixture
def two_fake_gpus(monkeypatch, tmp_path):
    """torch believes in two GPUs; what would touch a real one is recorded instead."""
    chosen = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "set_device", chosen.append)
    monkeypatch.setattr(runtime, "configure_cuda", lambda: None)
    monkeypatch.setenv("DEEPCLUST_GPU_LOCKS", str(tmp_path))
    return chosen


def test_cuda_takes_a_free_gpu_and_cuda_n_must_exist(two_fake_gpus, release_slots):
    assert resolve_device("auto") == torch.device("cuda", 0)
    assert resolve_device("cuda") == torch.device("cuda", 1)  # GPU 0 is held by the first
    assert resolve_device("cuda:1") == torch.device("cuda", 1)  # an explicit index is kept
    assert two_fake_gpus == [torch.device("cuda", i) for i in (0, 1, 1)]
    with pytest.raises(ValueError, match=r"'cuda:2' but this job sees 2 CUDA device\(s\)"):
        resolve_device("cuda:2")


def test_amp_auto_takes_bf16_where_the_hardware_computes_it(monkeypatch):
    cuda, cpu = torch.device("cuda", 0), torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: True)
    assert autocast_dtype(cuda) is torch.bfloat16
    assert autocast_dtype(cuda, amp=False) is None
    monkeypatch.setattr(
        torch.cuda, "is_bf16_supported", lambda including_emulation=True: including_emulation
    )
    assert autocast_dtype(cuda) is None  # pre-Ampere: float32, not emulated bf16
    assert autocast_dtype(cuda, amp=True) is torch.bfloat16  # asked for: emulated
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda including_emulation=True: False)
    with pytest.raises(ValueError, match="'amp' is true but cuda:0 cannot compute bfloat16"):
        autocast_dtype(cuda, amp=True)
    # the CPU: torch's own reading of the CPU's features, not oneDNN's "supported" (which is
    # true on any AVX-512 CPU, where bf16 is emulated)
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": True})
    assert cpu_has_native_bf16()
    assert autocast_dtype(cpu) is torch.bfloat16
    assert autocast_dtype(cpu, amp=False) is None
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"amx_bf16": True})
    assert autocast_dtype(cpu) is torch.bfloat16
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {"avx512_bf16": False, "avx2": True})
    assert not cpu_has_native_bf16()
    assert autocast_dtype(cpu) is None
    assert autocast_dtype(cpu, amp=True) is torch.bfloat16  # asked for: emulated
    assert environment_info(cpu)["cpu_native_bf16"] is False
    assert (precision_name(None), precision_name(torch.bfloat16)) == ("fp32", "bf16-autocast")
    with pytest.raises(ValueError, match="config key 'amp' must be auto, true or false, got 'yes'"):
        autocast_dtype(cpu, amp="yes")


def test_a_resolved_device_flushes_denormals_and_says_so():
    """Adam's first moments of dead ReLU units decay through the denormal range, where an x86
    CPU computes ~30x slower: every job that resolves its device flushes them to zero."""
    code = textwrap.dedent(
        """
        import torch
        from deepclust.runtime import environment_info, resolve_device
        tiny = torch.tensor([1e-39])
        before = (tiny * 1.0).item()
        device = resolve_device("cpu", threads=1)
        print(before > 0, (tiny * 1.0).item() == 0.0, environment_info(device)["flush_denormal"])
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["True", "True", "True"]


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or runtime.platform.libc_ver()[0] != "glibc",
    reason="mallopt is glibc's",
)
def test_a_resolved_device_reuses_freed_memory_instead_of_refaulting_it():
    """A training step frees and reallocates the same few-MiB activations every step; glibc's
    default unmaps them on free, so each step faults them in again page by page. After
    resolve_device the freed blocks are kept: allocating and touching 32 MiB again costs next to
    no page faults (a fresh process, since the setting is per process and one-way)."""
    code = textwrap.dedent(
        """
        import resource, sys, torch
        from deepclust.runtime import environment_info, resolve_device

        def step():  # a step's activations: four 8 MB blocks alive together, then freed
            blocks = [torch.empty(2_000_000).fill_(1.0) for _ in range(4)]
            del blocks

        def faults_per_round(rounds=20):
            step()  # the first round may fault either way
            start = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            for _ in range(rounds):
                step()
            return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - start) / rounds

        before = faults_per_round()
        device = resolve_device("cpu", threads=1)
        after = faults_per_round()
        print(before, after, environment_info(device)["malloc_keeps_freed"])
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    before, after, said = done.stdout.split()
    assert float(before) > 500  # of the 8,000 4-KiB pages a round touches, under glibc defaults
    assert float(after) < 50
    assert said == "True"
