"""UMAP's compiled code is cached on disk, and the cache changes no embedding."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from deepclust.umap_cache import CACHED_PACKAGES, load_umap

FIT = """
import sys, numpy as np
if sys.argv[1] == "plain":
    import umap
else:
    from deepclust.umap_cache import load_umap
    umap = load_umap()
x = np.random.default_rng(0).normal(size=(120, 6)).astype("float32")
y = umap.UMAP(n_neighbors=8, n_components=3, random_state=0, n_jobs=1).fit_transform(x)
np.save(sys.argv[2], y)
"""


def test_every_compiled_function_of_umap_is_cached():
    from numba.core.dispatcher import Dispatcher

    load_umap()
    compiled = [
        (name, key)
        for name, module in list(sys.modules.items())
        if module is not None and name.split(".")[0] in CACHED_PACKAGES
        for key, value in vars(module).items()
        if isinstance(value, Dispatcher)
    ]
    assert len(compiled) > 100  # umap-learn's own are ~100
    uncached = [
        f"{name}.{key}"
        for name, key in compiled
        if type(getattr(sys.modules[name], key)._cache).__name__ == "NullCache"
    ]
    assert uncached == []


@pytest.mark.slow
def test_a_second_process_loads_the_cache_and_embeds_the_same(tmp_path):
    cache = tmp_path / "numba"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}

    def fit(kind: str, name: str) -> np.ndarray:
        out = tmp_path / f"{name}.npy"
        subprocess.run([sys.executable, "-c", FIT, kind, str(out)], env=env, check=True)
        return np.load(out)

    plain = fit("plain", "plain")
    own = {p.name for p in cache.glob("umap_*/*.nbi")}  # what umap-learn caches by itself
    assert not any(name.startswith("umap_.") for name in own)
    compiling = fit("cached", "first")
    written = {p.name for p in cache.glob("umap_*/*.nbi")}
    assert any(name.startswith("umap_.") for name in written)
    assert any(name.startswith("layouts.") for name in written)
    loaded = fit("cached", "second")
    assert {p.name for p in cache.glob("umap_*/*.nbi")} == written  # nothing compiled anew
    np.testing.assert_array_equal(compiling, plain)
    np.testing.assert_array_equal(loaded, plain)
