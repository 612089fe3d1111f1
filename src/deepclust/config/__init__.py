"""The workflow config: read, composed, checked and resolved into the :class:`Plan` every rule,
the ledger and the tests read (:func:`resolve`, or :func:`load` for files). One module a step of
a key's way (see :mod:`.plan`); the vocabulary (sections, ``pixels``, the error) in :mod:`.terms`.
"""

from deepclust.config.checks import check_config
from deepclust.config.files import load_yaml, read_files
from deepclust.config.plan import Plan, load, resolve
from deepclust.config.schema import SCHEMA
from deepclust.config.terms import GRAPH_METRICS, PIXELS, SECTIONS, ConfigError

__all__ = [
    "GRAPH_METRICS",
    "PIXELS",
    "SCHEMA",
    "SECTIONS",
    "ConfigError",
    "Plan",
    "check_config",
    "load",
    "load_yaml",
    "read_files",
    "resolve",
]
