"""The settings schemas: where each one lives, how a block inside one is found, and how values are checked.

Every setting is declared once, in a JSON schema (YAML) shipped inside the package that reads it:
``atmo/<package>/settings.schema.yaml`` (an experiment's block, the training core's ``train``
block) or ``atmo/<package>/<stem>.schema.yaml`` (``metrics/bootstrap``). A schema is named by
``<package>`` or ``<package>/<stem>``; a block inside it by its dotted config path, ``*`` standing
for every named entry of a mapping (``crf.*`` is one ``hail.crf`` entry, ``variants.*.loss`` a
variant's loss). Relative ``$ref`` between files resolve beside each file, whatever the working
directory or the install.
"""

from __future__ import annotations

import copy
import datetime
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin, urlparse
from urllib.request import url2pathname

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
SUFFIX = ".schema.yaml"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def schema_file(name: str) -> Path:
    """``hail``: ``atmo/hail/settings.schema.yaml``; ``metrics/bootstrap``: ``.../bootstrap.schema.yaml``."""
    package, _, stem = name.partition("/")
    return PACKAGE_ROOT / package / f"{stem or 'settings'}{SUFFIX}"


def schema_uri(name: str) -> str:
    """The URI a schema is known by (its file's), against which its relative ``$ref`` resolve."""
    return schema_file(name).as_uri()


def uri_path(uri: str) -> Path:
    """The file a schema URI names."""
    return Path(url2pathname(urlparse(uri).path))


def document(uri: str) -> dict:
    """The parsed schema file at ``uri`` (shared: never modify it, :func:`copy.deepcopy` first)."""
    return _parsed(uri_path(uri))


@functools.cache
def _parsed(path: Path) -> dict:
    """Parsed once per process (the C loader, when built, is about 10x faster than the Python one)."""
    schema = yaml.load(path.read_text(), Loader=_LOADER)
    schema["$id"] = path.as_uri()  # relative $refs resolve beside the file
    return schema


def fresh_document(name: str) -> dict:
    """A private copy of schema ``name``, for a caller that edits it."""
    return copy.deepcopy(document(schema_uri(name)))


def _retrieve(uri: str) -> Resource:
    return Resource.from_contents(document(uri), default_specification=DRAFT202012)


REGISTRY: Registry = Registry(retrieve=_retrieve)


def _format_checker() -> FormatChecker:
    """Checks ``format: date`` and ``format: date-time`` strictly (jsonschema treats formats as notes unless asked).

    ISO 8601 as Python reads it: ``2019-13-45`` is refused, naming its key, instead of failing later
    inside pandas without one.
    """
    checker = FormatChecker(formats=())

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        return not isinstance(value, str) or bool(datetime.date.fromisoformat(value))

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(datetime.datetime.fromisoformat(value))

    return checker


FORMATS = _format_checker()


@dataclass(frozen=True)
class Node:
    """One place in a schema, and what it means once its ``$ref`` are followed.

    ``uri`` and ``pointer`` locate the node as written (a JSON pointer into the file at ``uri``);
    ``schema`` is that node with every ``$ref`` replaced by its target, the node's own keys winning
    (the ``default`` or ``description`` a parent block writes beside a ``$ref``), and ``target_uri``,
    ``target_pointer`` locate the target.
    """

    uri: str
    pointer: str
    schema: dict
    target_uri: str
    target_pointer: str

    def child(self, part: str) -> Node:
        """The node of key ``part`` (``*``: any entry of a free mapping) of this object."""
        return self.descend("additionalProperties") if part == "*" else self.descend("properties", part)

    def items(self) -> Node:
        """The node of this array's items."""
        return self.descend("items")

    def descend(self, *keys: str | int) -> Node:
        """The node at ``keys`` below this one's schema (keywords and names: ``"allOf", 0, "then"``)."""
        written: Any = self.schema
        try:
            for key in keys:
                written = written[key]
        except (KeyError, IndexError, TypeError):
            raise KeyError(f"{self.target_uri}#{self.target_pointer}: nothing at {list(keys)}") from None
        if not isinstance(written, dict):
            raise KeyError(f"{self.target_uri}#{self.target_pointer}: {list(keys)} is no schema")
        pointer = self.target_pointer + "".join(f"/{_escape(str(key))}" for key in keys)
        return _located(self.target_uri, pointer, written)

    def validator(self) -> Draft202012Validator:
        """A (non-filling) validator of values at this node, with its ``$ref`` resolvable and dates checked."""
        return Draft202012Validator({"$ref": f"{self.uri}#{self.pointer}"}, registry=REGISTRY, format_checker=FORMATS)


def node(name: str, path: str = "") -> Node:
    """The node of schema ``name`` at dotted config path ``path`` (``""``: the whole schema)."""
    uri = schema_uri(name)
    located = _located(uri, "", document(uri))
    for part in path.split(".") if path else ():
        located = located.child(part)
    return located


def _located(uri: str, pointer: str, written: dict) -> Node:
    target_uri, target_pointer, schema = uri, pointer, written
    while "$ref" in schema:
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        target_uri, fragment = urldefrag(urljoin(target_uri, schema["$ref"]))
        target_pointer = fragment
        schema = {**_at(document(target_uri), fragment), **siblings}
    return Node(uri, pointer, schema, target_uri, target_pointer)


def _at(doc: dict, pointer: str) -> Any:
    out: Any = doc
    for part in pointer.split("/")[1:] if pointer else ():
        out = out[part.replace("~1", "/").replace("~0", "~")]
    return out


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def schema_default(name: str, path: str) -> Any:
    """The ``default`` schema ``name`` gives key ``path``, for a value kept beside its block (``hail.seed``)."""
    return copy.deepcopy(node(name, path).schema["default"])
