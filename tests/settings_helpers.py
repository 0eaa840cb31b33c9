"""What a schema allows against what the code implements: the registries' names and constructor keywords.

The schema declares each setting once; these helpers read what it allows (architecture names, the
``params`` keys of each) so an experiment's tests can check that the code behind them exists.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from atmo.settings.schema import document, node


def constructor_keywords(constructor: Callable[..., Any]) -> set[str]:
    """Keyword names of ``constructor``, following ``**kwargs`` up to the base class that takes them."""
    names: set[str] = set()
    for cls in getattr(constructor, "__mro__", (constructor,)):
        if cls is object or ("__init__" not in vars(cls) and cls is not constructor):
            continue
        parameters = inspect.signature(cls).parameters
        names |= {n for n, p in parameters.items() if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            break
    return names


def arch_params(module: str, entry: str) -> tuple[list[str], dict[str, set[str]]]:
    """The architectures the entries at ``entry`` (``models.*``) of ``module`` may name, and each one's params keys."""
    located = node(module, entry)
    doc = document(located.target_uri)
    params = {}
    for rule in located.schema.get("allOf", []):
        target: Any = doc
        for part in rule["then"]["properties"]["params"]["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        params[rule["if"]["properties"]["arch"]["const"]] = set(target["properties"])
    return located.schema["properties"]["arch"]["enum"], params


def enum(module: str, path: str) -> list[Any]:
    """The values the schema of ``module`` allows at ``path`` (an array's: its items')."""
    schema = node(module, path).schema
    return schema.get("enum") or schema["items"]["enum"]
