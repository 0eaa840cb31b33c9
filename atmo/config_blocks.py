"""Config blocks as typed, frozen dataclasses, all built by one helper.

A block of the workflow config (``nowcast.split``, ``cbh.geometry``, a module's ``train``...) maps
one-to-one onto a frozen dataclass: one field per key, defaults equal to the schema's ``default:``
entries (``tests/unit/core/test_config_defaults.py`` keeps them equal). :func:`build_block` turns
a block, as Snakemake hands it to a script in ``params``, into its dataclass:

* missing keys take the dataclass defaults; an unknown key is an error listing the allowed ones;
* values are checked against the field types: an int is widened to float where a float is
  declared, a bool is never a number, a list becomes a tuple where a tuple is declared, and a
  nested block (a field whose type is a dataclass) is built the same way, recursively;
* range and cross-key checks live in the dataclass: its ``__post_init__`` calls :func:`check`.

Every problem raises :class:`~atmo.errors.ConfigError` with one line naming the dotted key, e.g.
``invalid config: key 'nowcast.split.method': expected one of ['date', 'fraction'], got 'dates'``.
Snakemake validates the config against the schema before any job runs; these checks make the
library equally safe to call from a notebook or a test with a hand-written dict.

A dataclass may name its config path in ``WHERE`` (a ``ClassVar``); errors of a directly
constructed instance use it, :func:`build_block` replaces it by the ``where`` it was given.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from atmo.errors import ConfigError

T = TypeVar("T")

#: One range check: (key, whether the value is acceptable, what is expected, e.g. "expected >= 1").
Check = tuple[str, bool, str]


class _BlockValueError(ConfigError):
    """A bad value of one of ``block``'s own keys; :func:`build_block` re-roots it at its ``where``."""

    def __init__(self, block: type, key: str, detail: str) -> None:
        self.block, self.key, self.detail = block, key, detail
        super().__init__(_message(f"{_default_where(block)}.{key}", detail))


def build_block(cls: type[T], data: Mapping[str, Any] | T | None, where: str) -> T:
    """The frozen dataclass ``cls`` built from the config block ``data`` at dotted path ``where``.

    ``data`` may be a mapping (missing keys take their defaults), ``None`` (all defaults) or an
    instance of ``cls`` (returned unchanged). Raises :class:`ConfigError` naming the key for an
    unknown key, a missing key without a default, a value of the wrong type, or a value the
    dataclass's checks refuse.
    """
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise TypeError(f"build_block needs a dataclass type, got {cls!r}")
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(_message(where, f"expected a mapping, got {_got(data)}"))
    fields = [f for f in dataclasses.fields(cls) if f.init]
    names = [f.name for f in fields]
    unknown = sorted(key for key in data if key not in names)
    if unknown:
        raise ConfigError(_message(f"{where}.{unknown[0]}", f"unknown key; allowed keys are {names}"))
    missing = [f.name for f in fields if f.name not in data and _no_default(f)]
    if missing:
        raise ConfigError(_message(f"{where}.{missing[0]}", "missing required key"))
    hints = typing.get_type_hints(cls)
    values = {key: _coerce(value, hints[key], f"{where}.{key}") for key, value in data.items()}
    try:
        return cls(**values)
    except _BlockValueError as err:
        if err.block is not cls:
            raise
        raise ConfigError(_message(f"{where}.{err.key}", err.detail)) from None


def check(block: object, checks: Iterable[Check]) -> None:
    """Raise :class:`ConfigError` for the first ``(key, ok, expected)`` of ``checks`` that is not ok.

    Call it from ``__post_init__``; the message names the key and shows its value.
    """
    for key, ok, expected in checks:
        if not ok:
            raise _BlockValueError(type(block), key, f"{expected}, got {getattr(block, key)!r}")


def coerce_fields(block: object) -> None:
    """Check and widen the fields of a directly constructed block in place (from ``__post_init__``).

    :func:`build_block` already does this before construction; a dataclass that wants the same
    guarantees for ``Cls(...)`` calls this first in its ``__post_init__``.
    """
    hints = typing.get_type_hints(type(block))
    for f in dataclasses.fields(block):
        value = getattr(block, f.name)
        try:
            coerced = _coerce(value, hints[f.name], f.name)
        except ConfigError:
            raise _BlockValueError(
                type(block), f.name, f"expected {_type_name(hints[f.name])}, got {_got(value)}"
            ) from None
        object.__setattr__(block, f.name, coerced)


def _coerce(value: Any, hint: Any, where: str) -> Any:
    """``value`` converted to type ``hint``, or :class:`ConfigError` naming ``where``.

    Handles ``None``, ``bool``, ``int``, ``float`` (ints widened), ``str``, unions of these,
    ``tuple[X, ...]`` and ``list[X]`` (from any list or tuple), ``dict[str, X]`` and ``Mapping``,
    nested dataclasses (built with :func:`build_block`) and ``Any`` (kept as it is).
    """
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        for option in sorted(typing.get_args(hint), key=_preference):
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise ConfigError(_message(where, f"expected {_type_name(hint)}, got {_got(value)}"))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return build_block(hint, value, where)
    if origin in (tuple, list) or hint in (tuple, list):
        return _coerce_sequence(value, hint, where)
    if origin in (dict, Mapping) or hint in (dict, Mapping):
        return _coerce_mapping(value, hint, where)
    if _is_scalar_match(value, hint):
        return float(value) if hint is float else value
    raise ConfigError(_message(where, f"expected {_type_name(hint)}, got {_got(value)}"))


def _type_name(hint: Any) -> str:
    """How a field type reads in an error: ``float or null``, ``list of str``, ``mapping``."""
    if hint is type(None):
        return "null"
    if hint is Any:
        return "any value"
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type_name(option) for option in typing.get_args(hint))
    if origin in (tuple, list) or hint in (tuple, list):
        args = [a for a in typing.get_args(hint) if a is not Ellipsis]
        return f"list of {_type_name(args[0])}" if len(set(args)) == 1 else "list"
    if origin in (dict, Mapping) or hint in (dict, Mapping) or dataclasses.is_dataclass(hint):
        return "mapping"
    return getattr(hint, "__name__", str(hint))


def _is_scalar_match(value: Any, hint: Any) -> bool:
    if hint is type(None):
        return value is None
    if isinstance(value, bool) or hint is bool:
        return isinstance(value, bool) and hint is bool
    if hint is float:
        return isinstance(value, int | float)
    return hint in (int, str) and isinstance(value, hint)


def _preference(option: Any) -> int:
    """Union members in the order a value is tried against them: an int stays an int if allowed."""
    order = (type(None), bool, int, float, str)
    return order.index(option) if option in order else len(order)


def _coerce_sequence(value: Any, hint: Any, where: str) -> tuple | list:
    if not isinstance(value, list | tuple):
        raise ConfigError(_message(where, f"expected {_type_name(hint)}, got {_got(value)}"))
    args = typing.get_args(hint)
    if len(args) == 2 and args[1] is Ellipsis:
        hints = [args[0]] * len(value)
    elif args and typing.get_origin(hint) is tuple:
        if len(args) != len(value):
            raise ConfigError(_message(where, f"expected {len(args)} values, got {_got(value)}"))
        hints = list(args)
    else:
        hints = [args[0] if args else Any] * len(value)
    items = [
        _coerce(item, item_hint, f"{where}[{i}]") for i, (item, item_hint) in enumerate(zip(value, hints, strict=True))
    ]
    return list(items) if (typing.get_origin(hint) or hint) is list else tuple(items)


def _coerce_mapping(value: Any, hint: Any, where: str) -> dict:
    if not isinstance(value, Mapping):
        raise ConfigError(_message(where, f"expected a mapping, got {_got(value)}"))
    args = typing.get_args(hint)
    value_hint = args[1] if len(args) == 2 else Any
    return {key: _coerce(item, value_hint, f"{where}.{key}") for key, item in value.items()}


def _no_default(f: dataclasses.Field) -> bool:
    return f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING


def _default_where(block: type) -> str:
    return getattr(block, "WHERE", block.__name__)


def _got(value: Any) -> str:
    return f"{type(value).__name__} {value!r}"


def _message(key: str, detail: str) -> str:
    return f"invalid config: key '{key}': {detail}"
