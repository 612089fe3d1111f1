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
) -> np.ndarray:
    """``model.features`` of every image, as float32 (N, d)."""
    model = model.to(device).eval()
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            batch = torch.as_tensor(
                images[start : start + batch_size], dtype=torch.float32, device=device
            )
            chunks.append(model.features(batch * input_scale).float().cpu().numpy())
    features = np.concatenate(chunks).reshape(len(images), -1)
    if not np.isfinite(features).all():
        raise FloatingPointError(
            "the encoder produced NaN or Inf features; the model diverged in training"
        )
    return features


def pixel_features(images: np.ndarray) -> np.ndarray:
    """The floor baseline: raw pixels, flattened."""
    return images.reshape(len(images), -1).astype(np.float32)
