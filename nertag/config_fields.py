"""The pieces of the config schema (:mod:`nertag.config`) that know nothing of its
sections: a field with its range or choices (:func:`_f`), the check of one value
against its type and range (:func:`_check_value`), and a field's one-line description
(:func:`_describe`, the comments of ``nertag train --show-config``)."""

from __future__ import annotations

import difflib
import types
import typing
from dataclasses import field
from typing import Any

from nertag.errors import UsageError


def _f(default, *, lo=None, gt=None, hi=None, choices=None, help=""):
    """A schema field with its range (lo <= value, gt < value, value <= hi) or choices."""
    meta = {"lo": lo, "gt": gt, "hi": hi, "choices": choices, "help": help}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata=meta)
    return field(default=default, metadata=meta)


def _type_name(tp) -> str:
    return getattr(tp, "__name__", str(tp)).replace("typing.", "")


def _check_value(key: str, value: Any, tp, meta: dict, src: str) -> Any:
    """Check one leaf value against its annotated type and range; return it (coerced)."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, getattr(types, "UnionType", None)):
        if value is None and type(None) in args:
            return None
        tp = next(a for a in args if a is not type(None))
        origin, args = typing.get_origin(tp), typing.get_args(tp)
    bad = f"{src}: '{key}' must be {{}}, got {value!r}"
    if origin is list:
        if not isinstance(value, list):
            raise UsageError(bad.format(f"a list of {_type_name(args[0])}"))
        return [_check_value(f"{key}[{i}]", v, args[0], {"lo": 1}, src) for i, v in enumerate(value)]
    if origin is dict:  # (labels.map: names of entity types, e.g. {person: PER})
        if not isinstance(value, dict) or not all(
                isinstance(v, str) and v.strip() for kv in value.items() for v in kv):
            raise UsageError(bad.format("a mapping of names to names, e.g. {person: PER}"))
        return {k.strip(): v.strip() for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise UsageError(bad.format("true or false"))
    elif tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(bad.format("an integer"))
    elif tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise UsageError(bad.format("a number"))
        value = float(value)
        if value != value:
            raise UsageError(bad.format("a number"))
    elif tp is str:
        if not isinstance(value, str):
            raise UsageError(bad.format("a string"))
    lo, gt, hi, choices = meta.get("lo"), meta.get("gt"), meta.get("hi"), meta.get("choices")
    if choices is not None and value not in choices:
        near = difflib.get_close_matches(str(value), choices, n=1)
        hint = f" (did you mean '{near[0]}'?)" if near else ""
        raise UsageError(f"{src}: unknown {key.split('.')[-1]} {value!r} for '{key}'; "
                         f"choose one of {', '.join(choices)}{hint}")
    if lo is not None and value < lo:
        raise UsageError(f"{src}: '{key}' must be >= {lo}, got {value!r}")
    if gt is not None and not value > gt:
        raise UsageError(f"{src}: '{key}' must be > {gt}, got {value!r}")
    if hi is not None and value > hi:
        raise UsageError(f"{src}: '{key}' must be <= {hi}, got {value!r}")
    return value


def _describe(meta) -> str:
    """A field's help and its allowed values: ``learning rate alpha (> 0) [<= 100.0]``."""
    limits = [f"{op} {meta[k]}" for k, op in (("lo", ">="), ("gt", ">"), ("hi", "<="))
              if meta.get(k) is not None and f"({op} {meta[k]})" not in meta.get("help", "")]
    if meta.get("choices"):
        limits = [" | ".join(meta["choices"])]
    return meta.get("help", "") + (f" [{', '.join(limits)}]" if limits else "")
