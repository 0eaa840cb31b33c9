"""Architectures by name: build a model from a config entry, and check every entry before any job.

Each experiment has a registry ``{arch name: nn.Module class}`` and a ``models:`` block whose
entries read ``{arch, params, loss}``. The constructor's keywords are exactly the ``params`` keys
(plus values the data fixes, such as frame counts), so one entry maps onto one constructor call.

A value the schema accepts may still be one the constructor refuses (a channel count GroupNorm
cannot divide). :func:`check_entries` builds every configured model once on PyTorch's ``meta``
device — shapes only, no memory, no compute — while the workflow checks its config, and turns a
refusal into one line naming the key, so a bad entry stops the run before any job starts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from atmo.errors import ConfigError

Registry = Mapping[str, Callable[..., nn.Module]]

_UNEXPECTED_KEYWORD = re.compile(r"unexpected keyword argument '(\w+)'")
_NAMED_PARAMETER = re.compile(r"^(\w+): ")
# A settings block built without its entry's path names the key under its generic ``<name>``.
_GENERIC_KEY = re.compile(r"key '[^']*<name>\.([^']+)': (.*)$")


def build_model(registry: Registry, module: str, arch: str, params: Mapping[str, Any]) -> nn.Module:
    """Instantiate ``registry[arch](**params)``; an unknown ``arch`` raises ``ValueError`` listing the known ones."""
    if arch not in registry:
        raise ValueError(f"unknown {module} architecture {arch!r}; known: {', '.join(sorted(registry))}")
    return registry[arch](**params)


def check_entries(
    module: str, entries: Mapping[str, Mapping[str, Any]], build: Callable[[Mapping], Any], block: str = "models"
) -> None:
    """Call ``build(entry)`` for every entry of ``<module>.<block>`` (default ``models``) on the meta device.

    ``build`` constructs what a training job would (model and loss). A refusal raises
    :class:`ConfigError`: ``invalid config: key '<module>.models.<name>.params.<param>': ...``
    (the key is as precise as the constructor's message allows).
    """
    for name, entry in entries.items():
        try:
            with torch.device("meta"):
                build(entry)
        except (TypeError, ValueError, RuntimeError, AssertionError) as error:
            key, problem = _locate(f"{module}.{block}.{name}", entry, error)
            arch = entry.get("arch", name)
            raise ConfigError(f"invalid config: key '{key}': {arch} rejects it: {problem}") from None


def _locate(where: str, entry: Mapping[str, Any], error: BaseException) -> tuple[str, str]:
    """The most precise config key ``error`` is about, and the error as one line."""
    message = " ".join(str(error).split()) or type(error).__name__
    generic = _GENERIC_KEY.search(message) if isinstance(error, ConfigError) else None
    if generic:
        return f"{where}.{generic.group(1)}", generic.group(2)
    params, loss = entry.get("params", {}) or {}, entry.get("loss", {}) or {}
    named = _UNEXPECTED_KEYWORD.search(message) or _NAMED_PARAMETER.match(message)
    if named:
        for block, values in (("params", params), ("loss", loss)):
            if named.group(1) in values:
                return f"{where}.{block}.{named.group(1)}", message
    if "arch" in message and "unknown" in message:
        return f"{where}.arch", message
    return f"{where}.params", message
