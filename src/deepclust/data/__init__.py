"""Datasets: the registry of built-in sources, their downloads, readers and the preprocessing step."""

from deepclust.data.dataset import ImageData, load_processed
from deepclust.data.registry import BUILTIN_DATASETS, get_builtin

__all__ = ["BUILTIN_DATASETS", "ImageData", "get_builtin", "load_processed"]
