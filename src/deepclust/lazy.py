"""A package's face that loads each name's module on first use (PEP 562).

A package lists ``_EXPORTS`` (name -> the module that defines it) and takes ``__getattr__`` and
``__dir__`` from :func:`lazy_face`: importing the package then costs nothing, and a caller pays
only for the module it uses (the workflow parses without torch; a job imports only its stage).
:mod:`deepclust.code_versions` reads ``_EXPORTS`` to follow a name to its module.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_face(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package`` whose names are ``exports``."""

    def __getattr__(name: str):
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(exports[name]), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
