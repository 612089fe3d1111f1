"""How long a job takes on a GPU, from measured throughput, to cut a plan to a window.

The numbers are bench/RESULTS.md's "GPU check" (``bench/gpu_check.py`` on an NVIDIA H200,
2026-12-04, torch 2.11, batch 256, eager): images per second of one pretraining job alone, the
speed-up of several jobs sharing the GPU, and the refiners' per-step times. An H100 is somewhat
slower; the margin is the window's, not these figures'. A model not measured takes the slowest
measured speed of its kind rather than a guess that could overfill a window.
"""

from __future__ import annotations

#: pretraining images per second, one job alone on the GPU (eager; compiled is faster)
PRETRAIN_IMG_PER_S = {
    "dense_ae": 140717,
    "conv_ae": 111918,
    "skip_cae": 102085,
    "ascae": 61537,
    "scae": 60359,
    "ddecn": 38008,
    "res_vae": 19163,
}
#: the throughput of N jobs sharing one GPU, as a multiple of one job's (3 conv_ae jobs: 2.89x);
#: 6 is not measured: taken as 3's, so a plan never counts on it
SHARING_SPEEDUP = {1: 1.0, 3: 2.89, 6: 2.89}
#: seconds a refiner step takes on 70,000 images: a GCN clusterer's full-batch epoch (SDCN on
#: the conv AE, 0.80 s), a DEKM iteration (0.94 s)
GCN_EPOCH_S = 0.80
DEKM_ITERATION_S = 0.94
#: DEKM's iterations when its stopping rule ends it early: the 20-epoch CPU stand-ins stopped
#: within 55 at 0.5 %; a plan counts this many, not the cap of 1,000
DEKM_TYPICAL_ITERATIONS = 100
#: images a GPU job reads per second when one is not in the table (the slowest measured)
UNMEASURED_IMG_PER_S = min(PRETRAIN_IMG_PER_S.values())
#: seconds each job pays before its first epoch (CUDA context, data to the GPU)
JOB_START_S = 10.0
MEASURED_N_IMAGES = 70000


def pretrain_seconds(model: str, epochs: int, n_images: int) -> float:
    """One job's pretraining alone on the GPU."""
    rate = PRETRAIN_IMG_PER_S.get(model, UNMEASURED_IMG_PER_S)
    return JOB_START_S + epochs * n_images / rate


def refine_seconds(method: str, params: dict, model: str, n_images: int) -> float:
    """One refiner's fine-tuning alone on the GPU (a GCN's epochs, DEKM's iterations, IDEC's
    batches), scaled by the images from the 70,000 measured."""
    scale = n_images / MEASURED_N_IMAGES
    if method in ("sdcn", "sddecc"):
        return JOB_START_S + params.get("epochs", 200) * GCN_EPOCH_S * scale
    if method == "dekm":
        iterations = min(params.get("max_iter", 1000), DEKM_TYPICAL_ITERATIONS)
        return JOB_START_S + iterations * DEKM_ITERATION_S * scale
    if method == "idec":
        rate = PRETRAIN_IMG_PER_S.get(model, UNMEASURED_IMG_PER_S)
        batches = params.get("max_iter", 20000)
        return JOB_START_S + batches * params.get("batch_size", 256) / rate
    return JOB_START_S


def window_capacity(window_s: float, parallel: int) -> float:
    """Seconds of one-job-alone GPU work that a window of ``window_s`` holds with ``parallel``
    jobs sharing the GPU."""
    known = max(n for n in SHARING_SPEEDUP if n <= max(parallel, 1))
    return window_s * SHARING_SPEEDUP[known]
