"""One trainer for every autoencoder: seeded, resumable, logged.

The trainer asks the model for its objective (``model.loss(batch)``), so ASCAE's feature-
consistency loss or a VAE's KL term need no loop of their own. Every ``checkpoint_every`` epochs
it saves model, optimizer, scheduler and RNG state atomically; a restarted run with the same
configuration continues from there and ends bit-identical (on CPU) to an uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from tqdm import tqdm

from deepclust.degenerate import training_warnings
from deepclust.io import atomic_path, write_csv
from deepclust.model_file import save_model
from deepclust.models import AutoEncoder, build_model
from deepclust.optimizers import make_optimizer, make_scheduler
from deepclust.runtime import autocast_dtype, precision_name, seed_everything

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    """Training hyper-parameters; the config's extractor keys of the same names.

    ``input_scale`` multiplies the [0, 1] images before they reach the model (ASCAE: 255).
    ``amp`` (``"auto"``, true, false) chooses bfloat16 autocast: ``auto`` where the device
    computes bf16 natively (bf16 GPUs, CPUs with AVX512-BF16 or AMX), ``runtime.autocast_dtype``.
    ``channels_last`` (default) stores convolutions' weights and activations as NHWC: 2-43 %
    faster on the CPU (bench/RESULTS.md), the same maths, so not in a checkpoint's fingerprint.
    ``min_steps`` is the fewest optimiser steps a run takes: a small dataset trains more epochs
    than ``epochs`` until it has taken them (:meth:`for_samples`), as long in steps as a large one.
    ``optimizer`` is ``adam``, ``adamw`` (``betas``) or ``sgd`` (``momentum``): DEC's published
    code pretrains its dense AE on MNIST and Fashion-MNIST with SGD, lr 1, momentum 0.9.
    """

    epochs: int = 100
    batch_size: int = 256
    lr: float = 1e-3
    optimizer: str = "adam"
    weight_decay: float = 0.0
    betas: tuple[float, float] = (0.9, 0.999)
    momentum: float = 0.0
    scheduler: str = "none"
    checkpoint_every: int = 10
    amp: bool | str = "auto"
    channels_last: bool = True
    input_scale: float = 1.0
    min_steps: int = 0

    #: an entry's keys that are not training settings (`code_version`: deepclust.code_versions)
    EXTRACTOR_KEYS: ClassVar = set("model model_args feature_batch_size sweep code_version".split())

    @classmethod
    def from_dict(cls, cfg: dict) -> TrainConfig:
        """An extractor entry's training settings; an unknown key is refused, never dropped."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(cfg) - names - cls.EXTRACTOR_KEYS - {"swept"})
        if unknown:
            raise ValueError(f"extractor key(s) {unknown}: not a training setting {sorted(names)}")
        values = {k: v for k, v in cfg.items() if k in names}
        if "betas" in values:
            values["betas"] = tuple(values["betas"])
        return cls(**values)

    def steps_per_epoch(self, n_samples: int) -> int:
        return math.ceil(n_samples / self.batch_size)

    def for_samples(self, n_samples: int) -> TrainConfig:
        """This config with ``epochs`` raised until ``n_samples`` images give ``min_steps``
        optimiser steps (unchanged when ``epochs`` already give them). The returned config has
        ``min_steps`` met, so calling this again changes nothing."""
        if n_samples < 1:
            raise ValueError("cannot train on an empty dataset")
        needed = math.ceil(self.min_steps / self.steps_per_epoch(n_samples))
        return replace(self, epochs=max(self.epochs, needed), min_steps=0)

    def fingerprint(self, extra: dict) -> str:
        """A hash of everything that shapes the run: a checkpoint is resumed only if it matches.

        Without a schedule the first epochs do not depend on how many follow, so ``epochs`` is
        left out: an interrupted run whose ``epochs`` was raised continues instead of starting over.
        ``min_steps`` only sets the epochs (:meth:`for_samples`) and ``amp`` only chooses the
        precision, which ``extra`` holds as resolved for the device (:func:`run_fingerprint`).
        """
        train = asdict(self)
        del train["checkpoint_every"], train["channels_last"], train["min_steps"], train["amp"]
        if self.optimizer != "sgd":  # Adam has none: fingerprints from before it stay valid
            del train["momentum"]
        if self.scheduler == "none":
            del train["epochs"]
        blob = json.dumps({"train": train, **extra}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


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
        return model

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
    trained_on = {
        "device": str(device),
        "precision": trainer.precision,
        # a spike at the end or a plateau, said with every clustering of this network
        "warnings": training_warnings([row["loss"] for row in trainer.history]),
    }
    for warning in trained_on["warnings"]:
        log.warning("%s: %s", model_path, warning)
    save_model(model_path, model.cpu(), {**hparams, "trained_on": trained_on})
    if checkpoint_path is not None:
        Path(checkpoint_path).unlink(missing_ok=True)
    return model, trainer
