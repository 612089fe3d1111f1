"""What a run used: seeding, device choice, and the package versions written next to every result.

torch is imported inside the functions that need it, so a clustering job that never touches
torch does not pay for importing it.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import random
import sys
from typing import TYPE_CHECKING

import numpy as np

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


def resolve_device(device: str = "auto", threads: int | None = None) -> torch.device:
    """Map the config value ``auto|cpu|cuda|cuda:N`` to a torch device, failing clearly.

    ``threads`` caps torch's CPU thread pool (the job's Snakemake ``threads``).
    """
    import torch

    if threads:
        torch.set_num_threads(int(threads))
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"config key 'device' is {device!r} but no CUDA device is available")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ValueError(
            f"config key 'device' must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}"
        ) from err


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
    return info
