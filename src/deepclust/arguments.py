"""Values a constructor takes, checked before any job runs.

A config's ``params`` / ``model_args`` reach a class's ``__init__`` only inside a job, after the
data is preprocessed and maybe after hours of pretraining. :func:`check_values` checks them at
plan time instead: each value against the constructor's annotation (``n_init: int`` refuses
``"five"``; YAML reads ``1e-3`` as text, which is refused with how to write it), and, for a
class that wraps a scikit-learn estimator (``delegate``), the parameters they share against that
estimator's own constraints (``n_init: 0``, ``covariance_type: "round"``).
"""

from __future__ import annotations

import collections.abc
import inspect
import re
import types
import typing
from typing import Any, Literal, Union

#: a number YAML 1.1 reads as text (no dot before the exponent)
_YAML_TEXT_NUMBER = re.compile(r"^[-+]?[0-9]+[eE][-+]?[0-9]+$")


def matches(value: Any, hint: Any) -> bool:
    """Whether ``value`` (as YAML gives it: lists for sequences) fits type ``hint``; a hint this
    does not understand accepts anything (the constructor still checks)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    if hint is None or hint is type(None):
        return value is None
    if origin in (Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if origin is Literal:
        return value in args
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    sequence = (list, tuple, collections.abc.Sequence)
    if hint in sequence or origin in sequence:
        if not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(map(matches, value, args))
        return not args or all(matches(v, args[0]) for v in value)
    if hint in (dict, collections.abc.Mapping) or origin in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    return True


def _type_name(hint: Any) -> str:
    text = str(hint) if typing.get_origin(hint) else getattr(hint, "__name__", str(hint))
    return text.replace("typing.", "").replace("collections.abc.", "").replace("NoneType", "None")


def check_values(cls: type, values: dict, *, delegate: type | None = None) -> None:
    """Raise ValueError naming the first parameter of ``values`` whose value ``cls`` cannot take
    (its annotation; then ``delegate``'s scikit-learn constraints for the names they share)."""
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # an annotation that does not evaluate here: leave it to the constructor
        hints = {}
    for name, value in values.items():
        hint = hints.get(name)
        if hint is None or matches(value, hint):
            continue
        hint_text = _type_name(hint)
        advice = ""
        if isinstance(value, str) and _YAML_TEXT_NUMBER.match(value):
            advice = f" (YAML reads {value} as text: write it with a dot, e.g. 1.0e-3)"
        raise ValueError(f"{name}: expected {hint_text}, got {value!r}{advice}")
    if delegate is not None:
        from sklearn.utils._param_validation import InvalidParameterError

        shared = {k: v for k, v in values.items() if k in delegate().get_params()}
        try:
            delegate(**shared)._validate_params()
        except InvalidParameterError as err:
            raise ValueError(str(err).replace(f"of {delegate.__name__} ", "")) from None
