"""umap-learn with its compiled code kept on disk, so a UMAP job starts in seconds.

umap-learn compiles about a hundred numba functions on its first fit in every process and, unlike
pynndescent, asks numba to cache almost none of them: a fresh process fitting 400 points took
22.6 s, against 5.5 s with the cache (bench/RESULTS.md, 2026-12-04), so the 2-D figures and UMAP
stages of a small dataset were mostly start-up. :func:`load_umap` turns on numba's on-disk cache for every
compiled function of umap-learn and pynndescent before the first fit; later processes load the
machine code instead of compiling it again. The cached code is the code numba would compile, so
embeddings are bit-identical with and without the cache (tested).

The cache lives where numba puts it: ``__pycache__`` beside the installed package when that is
writable, else the user's cache directory, or ``NUMBA_CACHE_DIR`` when set. numba keys it by the
package's source files and the CPU, so an upgrade or another machine compiles afresh.
"""

from __future__ import annotations

import sys
from types import ModuleType

#: the packages whose numba functions are cached; pynndescent caches most of its own already
CACHED_PACKAGES = ("umap", "pynndescent")


def load_umap() -> ModuleType:
    """Import ``umap`` with numba's on-disk cache on for its compiled functions."""
    import umap
    from numba.core.dispatcher import Dispatcher

    for name, module in list(sys.modules.items()):
        if module is None or name.split(".")[0] not in CACHED_PACKAGES:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, Dispatcher) and not _caches(value):
                value.enable_caching()
    return umap


def _caches(dispatcher) -> bool:
    """Whether numba already caches this function (``cache=True`` in its decorator)."""
    return type(dispatcher._cache).__name__ != "NullCache"
