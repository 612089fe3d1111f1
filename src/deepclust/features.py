"""Feature extraction: a trained encoder over the whole dataset, batched, without gradients."""

from __future__ import annotations

import numpy as np
import torch

from deepclust.models import AutoEncoder


def extract_features(
    model: AutoEncoder,
    images: np.ndarray,
    *,
    device: torch.device,
    batch_size: int = 1024,
    input_scale: float = 1.0,
) -> dict[str, np.ndarray]:
    """Every ``model.feature_layers`` output for every image, as float32 (N, d) arrays by name."""
    model = model.to(device).eval()
    chunks: dict[str, list[np.ndarray]] = {}
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(
                images[start : start + batch_size], dtype=torch.float32, device=device
            )
            for name, value in model.feature_layers(batch * input_scale).items():
                chunks.setdefault(name, []).append(value.float().cpu().numpy())
    layers = {
        name: np.concatenate(parts).reshape(len(images), -1) for name, parts in chunks.items()
    }
    for name, features in layers.items():
        if not np.isfinite(features).all():
            raise FloatingPointError(
                f"the encoder produced NaN or Inf in layer {name!r}; the model diverged in training"
            )
    return layers


def pixel_features(images: np.ndarray) -> np.ndarray:
    """The floor baseline: raw pixels, flattened."""
    return images.reshape(len(images), -1).astype(np.float32)
