"""What a trained model file holds: its weights and the hyper-parameters that rebuild it, read
without pickle, so a model.pt from a pretraining job (or a refiner) reloads anywhere."""

from __future__ import annotations

from pathlib import Path

import torch

from deepclust.io import atomic_path
from deepclust.models import AutoEncoder, build_model


def save_model(path: str | Path, model: AutoEncoder, hparams: dict) -> None:
    """Write ``state_dict`` plus the hyper-parameters needed to rebuild the model, atomically."""
    with atomic_path(path) as tmp:
        torch.save({"state_dict": model.state_dict(), "hparams": hparams}, tmp)


def load_model(path: str | Path, device: torch.device | str = "cpu") -> tuple[AutoEncoder, dict]:
    """Rebuild a model saved by :func:`save_model` (no pickle: ``weights_only=True``)."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        hparams = saved["hparams"]
    except Exception as err:
        raise ValueError(f"{path}: not a deepclust model file ({err})") from err
    model = build_model(
        hparams["model"], hparams["input_shape"], hparams["n_clusters"], **hparams["model_args"]
    )
    model.load_state_dict(saved["state_dict"])
    return model.to(device).eval(), hparams
