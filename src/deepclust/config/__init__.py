"""The workflow config: read, composed, checked and resolved into the :class:`Plan` every rule,
the ledger and the tests read (:func:`resolve`, or :func:`load` for files). One module a step of
a key's way (see :mod:`.plan`); the vocabulary (sections, ``pixels``, the error) in :mod:`.terms`.

The names below load their module on first use (PEP 562): a job that needs only the vocabulary
(a stage reading :data:`PIXELS`) neither imports the rest of the config layer nor depends on it.
"""

from __future__ import annotations

from deepclust.lazy import lazy_face

_EXPORTS = {
    "GRAPH_METRICS": "deepclust.config.terms",
    "PIXELS": "deepclust.config.terms",
    "SECTIONS": "deepclust.config.terms",
    "ConfigError": "deepclust.config.terms",
    "load_yaml": "deepclust.config.files",
    "read_files": "deepclust.config.files",
    "SCHEMA": "deepclust.config.schema",
    "check_config": "deepclust.config.checks",
    "Plan": "deepclust.config.plan",
    "load": "deepclust.config.plan",
    "resolve": "deepclust.config.plan",
    "report_name": "deepclust.config.plan",
}
__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_face(__name__, _EXPORTS)
