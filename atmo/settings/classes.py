"""Settings classes generated from the schema: fields, types and defaults are read, never written twice.

``settings_block("hail", "tiles")`` is a frozen dataclass with one keyword-only field per key of
the ``hail.tiles`` block, in schema order, typed and defaulted as the schema says:

=========================  =====================================================
schema                     field
=========================  =====================================================
``integer``                ``int`` (an integral float such as ``2.0`` becomes ``2``)
``number``                 ``float`` (an int is widened)
``boolean`` / ``string``   ``bool`` / ``str``; an ``enum`` or ``const`` by its values' type
``array``                  ``tuple`` of its items (lists become tuples, nested too)
``[X, "null"]``            ``X | None``
object with properties     a nested generated class, built from its mapping
free mapping               ``dict``
=========================  =====================================================

A key without a ``default`` is a required keyword. Every instance, built from a config mapping
(:func:`atmo.settings.build_block`) or constructed directly (``TilingSettings(tile_size=4)``), is
validated against its schema node (ranges, enums, lengths, dates: the same one-line errors as the
workflow check) and then runs its class's :meth:`SettingsBlock.cross_checks`, the rules between
keys that a schema cannot express. An experiment's class subclasses the generated one and adds
only those and its methods::

    class TilingSettings(settings_block("hail", "tiles")):
        def cross_checks(self) -> list[Check]: ...
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ClassVar

from jsonschema import Draft202012Validator

from atmo.settings.errors import BlockValueError, raise_first
from atmo.settings.schema import Node, node

#: One cross-key check: (key, whether the value is acceptable, what is expected, e.g. "expected <= 19").
Check = tuple[str, bool, str]

_PYTHON_TYPES = {"integer": int, "number": float, "boolean": bool, "string": str}
_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", type(None): "null"}


class SettingsBlock:
    """Base of every generated settings class: schema validation, then the class's cross-key checks.

    ``WHERE`` is the block's config path, used by the errors of a directly constructed instance
    (``hail.crf.<name>`` for an entry of a named mapping); ``SCHEMA`` is its schema node.
    """

    WHERE: ClassVar[str]
    SCHEMA: ClassVar[Node]
    _CONVERTERS: ClassVar[dict[str, Callable[[Any], Any]]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__post_init__" in vars(cls):
            raise TypeError(
                f"{cls.__name__}: put checks between keys in cross_checks(); __post_init__ skips the schema"
            )

    def __post_init__(self) -> None:
        values = {key: plain(getattr(self, key)) for key in self._CONVERTERS}
        raise_first(block_validator(type(self)).iter_errors(values), self.WHERE)
        for key, convert in self._CONVERTERS.items():
            object.__setattr__(self, key, convert(getattr(self, key)))
        check(self, self.cross_checks())

    def cross_checks(self) -> Iterable[Check]:
        """The rules between keys the schema cannot express, as ``(key, ok, expected)``; none by default."""
        return ()


def check(block: object, checks: Iterable[Check]) -> None:
    """Raise a one-line :class:`ConfigError` for the first ``(key, ok, expected)`` of ``checks`` that is not ok."""
    for key, ok, expected in checks:
        if not ok:
            raise BlockValueError(type(block), key, f"{expected}, got {getattr(block, key)!r}")


def plain(value: Any) -> Any:
    """A settings value as the config writes it: blocks as mappings, tuples as lists (what the schema validates)."""
    if isinstance(value, SettingsBlock):
        return {key: plain(getattr(value, key)) for key in value._CONVERTERS}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    return value


@functools.cache
def block_validator(cls: type[SettingsBlock]) -> Draft202012Validator:
    """The validator of ``cls``'s schema node, made once per class."""
    return cls.SCHEMA.validator()


@functools.cache
def settings_block(schema: str, path: str = "") -> type[SettingsBlock]:
    """The generated frozen dataclass of block ``path`` of schema ``schema`` (see the module docstring).

    One class per block: a nested block's field type is the class ``settings_block`` gives its path.
    """
    located = node(schema, path)
    if "properties" not in located.schema:
        raise TypeError(f"{schema}:{path or '<root>'} is no block with properties")
    where = ".".join(part for part in (schema.rpartition("/")[2], path) if part).replace("*", "<name>")
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    converters = {}
    for key in located.schema["properties"]:
        child = located.child(key)
        hint, convert = _field_type(child, f"{path}.{key}" if path else key, schema)
        converters[key] = convert
        if "default" in child.schema:
            fields.append((key, hint, _default_field(convert(copy.deepcopy(child.schema["default"])))))
        else:
            fields.append((key, hint))
    name = "".join(part.title() for part in re.split(r"[^A-Za-z0-9]+", f"{schema} {path}".replace("*", "entry")))
    name += "Block"
    if name in globals():
        raise TypeError(f"two settings blocks would be named {name}")
    cls = dataclasses.make_dataclass(
        name,
        fields,
        bases=(SettingsBlock,),
        frozen=True,
        kw_only=True,
        namespace={"WHERE": where, "SCHEMA": located, "_CONVERTERS": converters, "__module__": __name__},
    )
    globals()[name] = cls  # importable by its name, so instances pickle (DataLoader workers)
    return cls


def _default_field(value: Any) -> Any:
    """A field default: a mutable one (a free mapping) is copied for each instance."""
    if isinstance(value, dict):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(value))
    return dataclasses.field(default=value)


def json_types(schema: Mapping[str, Any]) -> list[str]:
    """The JSON types a schema node allows: its ``type``, its ``enum`` or ``const`` values', or its options'."""
    if "type" in schema:
        declared = schema["type"]
        found = set(declared) if isinstance(declared, list) else {declared}
    elif "enum" in schema or "const" in schema:
        found = {_JSON_TYPES[type(value)] for value in schema.get("enum", [schema.get("const")])}
    else:
        found = {kind for option in schema.get("oneOf") or schema.get("anyOf") or [] for kind in json_types(option)}
    return [kind for kind in _TYPE_ORDER if kind in found]


_TYPE_ORDER = ("boolean", "integer", "number", "string", "array", "object", "null")


def _field_type(child: Node, path: str | None, schema: str) -> tuple[Any, Callable[[Any], Any]]:
    """The annotation of one value and the function that normalises it once validated.

    ``path`` is the value's block path in ``schema``; ``None`` inside arrays, whose objects stay mappings.
    """
    kinds = json_types(child.schema)
    typed = [_one_type(child, path, schema, kind) for kind in kinds if kind != "null"]
    if not typed:
        return Any, _same
    hint = functools.reduce(operator.or_, [t for t, _ in typed] + ([type(None)] if "null" in kinds else []))
    if len(typed) > 1:
        return hint, _same
    convert = typed[0][1]
    return hint, lambda value: None if value is None else convert(value)


def _one_type(child: Node, path: str | None, schema: str, kind: str) -> tuple[Any, Callable[[Any], Any]]:
    if kind == "object":
        if path is None or "properties" not in child.schema:
            return dict[str, Any], dict
        block = settings_block(schema, path)
        return block, lambda value: value if isinstance(value, block) else block(**value)
    if kind == "array":
        if not isinstance(child.schema.get("items"), dict):
            return tuple[Any, ...], tuple
        item_hint, convert_item = _field_type(child.items(), None, schema)
        return tuple[item_hint, ...], lambda value: tuple(convert_item(item) for item in value)
    if kind == "number":
        return float, lambda value: float(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if kind == "integer":
        return int, lambda value: int(value) if isinstance(value, float) else value
    return _PYTHON_TYPES[kind], _same


def _same(value: Any) -> Any:
    return value
