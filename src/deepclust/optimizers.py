"""The optimiser and learning-rate schedule a pretraining run steps with (``TrainConfig``'s
``optimizer``, ``lr``, ``betas``, ``momentum``, ``weight_decay``, ``scheduler``, ``epochs``): the
``cfg`` below is a :class:`deepclust.train_config.TrainConfig`."""

from __future__ import annotations

import torch


def make_optimizer(
    model: torch.nn.Module, cfg, device: torch.device | None = None
) -> torch.optim.Optimizer:
    """Adam, AdamW or SGD with the fused kernel on the CPU and on CUDA: the same update in one
    pass over all parameters. On a CPU the per-tensor loop reads and writes each parameter and
    both moments several times, which cost the dense AE ~25 % of a step (bench/RESULTS.md)."""
    kind = "cpu" if device is None else device.type
    fused = {"fused": True} if kind in ("cpu", "cuda") else {}
    params = model.parameters()
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay, **fused
        )
    optimizers = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW}
    if cfg.optimizer not in optimizers:
        raise ValueError(
            f"optimizer must be one of {sorted([*optimizers, 'sgd'])}, got {cfg.optimizer!r}"
        )
    return optimizers[cfg.optimizer](
        params, lr=cfg.lr, betas=cfg.betas, weight_decay=cfg.weight_decay, **fused
    )


def make_scheduler(optimizer: torch.optim.Optimizer, cfg) -> torch.optim.lr_scheduler.LRScheduler:
    if cfg.scheduler == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs)
    if cfg.scheduler == "none":
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)
    raise ValueError(f"scheduler must be 'none' or 'cosine', got {cfg.scheduler!r}")
