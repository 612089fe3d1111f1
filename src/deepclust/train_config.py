"""A pretraining's settings: the config's extractor keys the trainer reads, and the
fingerprint that says whether a checkpoint belongs to a run (:mod:`deepclust.training`).
Imports no torch: the report and the config tools read it too."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields, replace
from typing import ClassVar


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
    ``keep`` is which weights the run saves: ``last`` (the last epoch's, as the papers' codes) or
    ``best`` (those at the end of the epoch with the lowest mean training loss: a small folder
    trained for ``min_steps`` can spike late, and the last epoch's would be mid-spike).
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
    keep: str = "last"

    #: which weights a run may save (:attr:`keep`)
    KEEPS: ClassVar = ("last", "best")
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
        if values.get("keep", "last") not in cls.KEEPS:
            raise ValueError(f"keep: {values['keep']!r} is not one of {list(cls.KEEPS)}")
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
        ``keep: best`` is in it (its checkpoint carries the best weights so far), ``last`` not, so
        checkpoints from before the key stay valid.
        """
        train = asdict(self)
        del train["checkpoint_every"], train["channels_last"], train["min_steps"], train["amp"]
        if self.keep == "last":
            del train["keep"]
        if self.optimizer != "sgd":  # Adam has none: fingerprints from before it stay valid
            del train["momentum"]
        if self.scheduler == "none":
            del train["epochs"]
        blob = json.dumps({"train": train, **extra}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]
