"""One trainer for every autoencoder: seeded, resumable, logged.

The trainer asks the model for its objective (``model.loss(batch)``), so ASCAE's feature-
consistency loss or a VAE's KL term need no loop of their own. Every ``checkpoint_every`` epochs
it saves model, optimizer, scheduler and RNG state atomically; a restarted run with the same
configuration continues from there and ends bit-identical (on CPU) to an uninterrupted run.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from deepclust.degenerate import training_warnings
from deepclust.io import atomic_path, write_csv
from deepclust.model_file import save_model
from deepclust.models import AutoEncoder, build_model
from deepclust.optimizers import make_optimizer, make_scheduler
from deepclust.runtime import autocast_dtype, precision_name, seed_everything
from deepclust.train_config import TrainConfig

log = logging.getLogger(__name__)


EpochCallback = Callable[[int, dict], None]

#: On a GPU an epoch can take a second: ``checkpoint_every`` epochs would then write a
#: checkpoint every few seconds. There, checkpoints are at least this far apart (the last
#: epoch's is always written).
CUDA_CHECKPOINT_MIN_SECONDS = 60.0


def compiled_loss(model: AutoEncoder, device: torch.device) -> Callable:
    """``model.loss`` through torch.compile: on CUDA with CUDA graphs (the small models here are
    expected to be launch-bound, an estimated ~100-800 kernels a step; bench/gpu_check.py
    compares), elsewhere fused kernels only. A graph that cannot be
    compiled runs eagerly instead of failing the job (dynamo's ``suppress_errors``)."""
    import torch._dynamo

    torch._dynamo.config.suppress_errors = True
    mode = "reduce-overhead" if device.type == "cuda" else "default"
    return torch.compile(model.loss, mode=mode, dynamic=False)


def restore_cuda_rng(states: list) -> None:
    """Restore the saved CUDA RNG states of the GPUs this process still sees (a requeued job
    may see fewer GPUs than the one that saved them; a GPU it never used has nothing to lose)."""
    if not states or not torch.cuda.is_available():
        return
    for index, state in enumerate(states[: torch.cuda.device_count()]):
        torch.cuda.set_rng_state(state, index)


class Trainer:
    """Trains an :class:`AutoEncoder` on an in-memory image tensor by mini-batch gradient descent."""

    def __init__(
        self,
        cfg: TrainConfig,
        device: torch.device,
        *,
        checkpoint_path: str | Path | None = None,
        log_csv: str | Path | None = None,
        fingerprint: str = "",
        callbacks: tuple[EpochCallback, ...] = (),
        checkpoint_min_seconds: float | None = None,
        compile: bool = False,
    ):
        self.cfg = cfg
        self.device = device
        self.checkpoint_path = Path(checkpoint_path) if checkpoint_path else None
        self.log_csv = Path(log_csv) if log_csv else None
        self.fingerprint = fingerprint
        self.callbacks = callbacks
        if checkpoint_min_seconds is None:
            checkpoint_min_seconds = CUDA_CHECKPOINT_MIN_SECONDS if device.type == "cuda" else 0.0
        self.checkpoint_min_seconds = checkpoint_min_seconds
        self.autocast = autocast_dtype(device, cfg.amp)
        #: what the run computes in, for logs and results: "fp32" or "bf16-autocast"
        self.precision = precision_name(self.autocast)
        #: compile the loss (forward and backward) with torch.compile; on CUDA its graphs are
        #: replayed as CUDA graphs ("reduce-overhead"), one launch instead of ~100 per step
        self.compile = bool(compile)
        self.history: list[dict] = []
        self.resumed_from = 0
        #: with ``keep: best``, the lowest-loss epoch so far and its weights (on the device)
        self.best: dict | None = None

    def fit(self, model: AutoEncoder, images: np.ndarray | torch.Tensor, seed: int) -> AutoEncoder:
        cfg = self.cfg = self.cfg.for_samples(len(images))
        layout = torch.channels_last if cfg.channels_last else torch.contiguous_format
        model.to(self.device, memory_format=layout)
        data = torch.as_tensor(images, dtype=torch.float32).to(self.device)
        optimizer = make_optimizer(model, cfg, self.device)
        scheduler = make_scheduler(optimizer, cfg)
        shuffle = torch.Generator().manual_seed(seed)
        start = self._resume(model, optimizer, scheduler, shuffle)
        last_saved = time.monotonic()
        loss_of = compiled_loss(model, self.device) if self.compile else model.loss
        n = len(data)
        n_batches = math.ceil(n / cfg.batch_size)
        bar = tqdm(
            range(start, cfg.epochs),
            initial=start,
            total=cfg.epochs,
            desc="pretrain",
            unit="epoch",
            disable=not sys.stderr.isatty(),
        )
        for epoch in bar:
            model.train()
            tic = time.perf_counter()
            # Sums stay on the device: one host sync per epoch, not per batch.
            sums: dict[str, torch.Tensor] = {}
            order = torch.randperm(n, generator=shuffle).to(self.device)
            for b in range(n_batches):
                batch = data[order[b * cfg.batch_size : (b + 1) * cfg.batch_size]]
                if cfg.channels_last:
                    batch = batch.contiguous(memory_format=torch.channels_last)
                if cfg.input_scale != 1.0:
                    batch = batch * cfg.input_scale
                if self.compile and self.device.type == "cuda":
                    torch.compiler.cudagraph_mark_step_begin()  # last step's outputs are spent
                with torch.autocast(
                    self.device.type, dtype=self.autocast, enabled=self.autocast is not None
                ):
                    loss, terms = loss_of(batch)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                for name, value in {"loss": loss.detach(), **terms}.items():
                    sums[name] = sums.get(name, 0.0) + value.float() * len(batch)
            totals = {name: value.item() / n for name, value in sums.items()}
            if not math.isfinite(totals["loss"]):
                raise FloatingPointError(
                    f"loss became {totals['loss']} in epoch {epoch + 1}; lower the learning rate"
                )
            lr = optimizer.param_groups[0]["lr"]
            scheduler.step()
            seconds = time.perf_counter() - tic
            row = {
                "epoch": epoch + 1,
                **totals,
                "lr": lr,
                "seconds": seconds,
                "img_per_s": n / seconds,
            }
            self.history.append(row)
            bar.set_postfix(loss=f"{totals['loss']:.4g}")
            log.info(
                "epoch %d/%d loss %.5g (%.0f img/s)",
                epoch + 1,
                cfg.epochs,
                row["loss"],
                row["img_per_s"],
            )
            self._write_log(live=True)
            if cfg.keep == "best" and (self.best is None or row["loss"] < self.best["loss"]):
                self.best = {
                    "epoch": epoch + 1,
                    "loss": row["loss"],
                    "state": {k: v.detach().clone() for k, v in model.state_dict().items()},
                }
            last = epoch + 1 == cfg.epochs
            due = (epoch + 1) % cfg.checkpoint_every == 0 and (
                time.monotonic() - last_saved >= self.checkpoint_min_seconds
            )
            if self.checkpoint_path and (last or due):
                self._save_checkpoint(model, optimizer, scheduler, shuffle, epoch + 1)
                last_saved = time.monotonic()
            for callback in self.callbacks:
                callback(epoch + 1, row)
        self._write_log(live=False)  # complete: under its final name, the live copy gone
        if self.best is not None and self.best["epoch"] != cfg.epochs:
            model.load_state_dict(self.best["state"])
            log.info(
                "keeping epoch %d's weights (loss %.5g, the run's lowest), not the last epoch's "
                "(loss %.5g)",
                self.best["epoch"],
                self.best["loss"],
                self.history[-1]["loss"],
            )
        return model

    @property
    def kept(self) -> dict:
        """Which weights :meth:`fit` left in the model: the rule, the epoch and its loss."""
        if self.best is not None:
            return {"keep": "best", "epoch": self.best["epoch"], "loss": self.best["loss"]}
        last = self.history[-1] if self.history else {"epoch": 0, "loss": None}
        return {"keep": "last", "epoch": last["epoch"], "loss": last["loss"]}

    def _write_log(self, live: bool) -> None:
        """Per epoch to ``{name}.live.csv``; the finished run's log alone takes the output's name."""
        if self.log_csv is None:
            return
        live_path = self.log_csv.with_suffix(".live.csv")
        write_csv(live_path if live else self.log_csv, self.history)
        if not live:
            live_path.unlink(missing_ok=True)

    def _save_checkpoint(self, model, optimizer, scheduler, shuffle, epoch: int) -> None:
        state = {
            "fingerprint": self.fingerprint,
            "epoch": epoch,
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "rng_torch": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
            "rng_shuffle": shuffle.get_state(),
            "history": self.history,
        }
        if self.best is not None:
            state["best"] = self.best
        with atomic_path(self.checkpoint_path) as tmp:
            torch.save(state, tmp)

    def _resume(self, model, optimizer, scheduler, shuffle) -> int:
        """Load the checkpoint if it belongs to this run; return the epoch to start from."""
        path = self.checkpoint_path
        if path is None or not path.exists():
            return 0
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:  # a torn or foreign file: start over rather than fail
            log.warning("ignoring unreadable checkpoint %s (%s)", path, err)
            return 0
        if state.get("fingerprint") != self.fingerprint:
            log.warning(
                "checkpoint %s is from a different configuration; starting from scratch", path
            )
            return 0
        if int(state["epoch"]) > self.cfg.epochs:
            log.warning(
                "checkpoint %s is at epoch %d, past this run's %d epochs; starting from scratch",
                path,
                state["epoch"],
                self.cfg.epochs,
            )
            return 0
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng_torch"])
        restore_cuda_rng(state["rng_cuda"])
        shuffle.set_state(state["rng_shuffle"])
        self.history = list(state["history"])
        if "best" in state:
            best = state["best"]
            state_dict = {k: v.to(self.device) for k, v in best["state"].items()}
            self.best = {
                "epoch": int(best["epoch"]),
                "loss": float(best["loss"]),
                "state": state_dict,
            }
        self.resumed_from = int(state["epoch"])
        log.info("resuming from %s at epoch %d", path, self.resumed_from)
        return self.resumed_from


def run_fingerprint(cfg: TrainConfig, hparams: dict, n_samples: int, device: torch.device) -> str:
    """The checkpoint fingerprint of a pretraining run: its settings, its data size, and the kind
    of device and precision it computes in (a CPU float32 checkpoint must not resume as a GPU
    bf16 run, nor the other way round)."""
    return cfg.fingerprint(
        {
            "hparams": hparams,
            "n_samples": n_samples,
            "device": device.type,
            "precision": precision_name(autocast_dtype(device, cfg.amp)),
        }
    )


def pretrain(
    model_name: str,
    model_args: dict,
    cfg: TrainConfig,
    images: np.ndarray,
    n_clusters: int,
    *,
    seed: int,
    device: torch.device,
    model_path: str | Path,
    log_csv: str | Path | None = None,
    checkpoint_path: str | Path | None = None,
    callbacks: tuple[EpochCallback, ...] = (),
    compile: bool = False,
) -> tuple[AutoEncoder, Trainer]:
    """Seed, build, train and save a model: the whole pretraining stage.

    The checkpoint is deleted once the final model is written.
    """
    seed_everything(seed)
    requested, min_steps = cfg.epochs, cfg.min_steps
    model = build_model(model_name, images.shape[1:], n_clusters, **model_args)
    hparams = {
        "model": model_name,
        "model_args": dict(model_args),
        "input_shape": list(images.shape[1:]),
        "n_clusters": int(n_clusters),
        "input_scale": float(cfg.input_scale),
        "seed": int(seed),
    }
    cfg = cfg.for_samples(len(images))
    if cfg.epochs != requested:
        log.info(
            "%d epochs of %d images give %d steps, under min_steps %d: training %d epochs",
            requested,
            len(images),
            requested * cfg.steps_per_epoch(len(images)),
            min_steps,
            cfg.epochs,
        )
    fingerprint = run_fingerprint(cfg, hparams, len(images), device)
    trainer = Trainer(
        cfg,
        device,
        checkpoint_path=checkpoint_path,
        log_csv=log_csv,
        fingerprint=fingerprint,
        callbacks=callbacks,
        compile=compile,
    )
    trainer.fit(model, images, seed)
    losses = [row["loss"] for row in trainer.history]
    trained_on = {
        "device": str(device),
        "precision": trainer.precision,
        # which weights were saved: the last epoch's, or (keep: best) the lowest loss's
        "kept": trainer.kept,
        # a spike at the end or a plateau, said with every clustering of this network
        "warnings": training_warnings(losses, kept_epoch=trainer.kept["epoch"]),
    }
    for warning in trained_on["warnings"]:
        log.warning("%s: %s", model_path, warning)
    save_model(model_path, model.cpu(), {**hparams, "trained_on": trained_on})
    if checkpoint_path is not None:
        Path(checkpoint_path).unlink(missing_ok=True)
    return model, trainer
