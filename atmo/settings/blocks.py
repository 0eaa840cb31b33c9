"""A config block, as Snakemake hands it to a script in ``params``, becomes its settings class.

:func:`build_block` validates the mapping against the block's schema node before constructing the
class, so a bad value is named by its full config path (``hail.crf.fine.halo``), not by the
class's generic ``WHERE`` (``hail.crf.<name>.halo``); the class's cross-key checks are re-rooted
at the same path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from atmo.errors import ConfigError
from atmo.settings.classes import SettingsBlock, block_validator, plain
from atmo.settings.errors import BlockValueError, got, message, raise_first

T = TypeVar("T", bound=SettingsBlock)


def build_block(cls: type[T], data: Mapping[str, Any] | T | None, where: str) -> T:
    """Settings class ``cls`` built from the config block ``data`` at dotted path ``where``.

    ``data`` may be a mapping (missing keys take the schema's defaults), ``None`` (all defaults) or
    an instance of ``cls`` (returned unchanged). Raises :class:`ConfigError` naming the key for an
    unknown key, a missing required key, a value the schema refuses or a cross-key check that fails.
    """
    if isinstance(data, cls):
        return data
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(message(where, f"expected a mapping, got {got(data)}"))
    raise_first(block_validator(cls).iter_errors(plain(data)), where)
    try:
        return cls(**data)
    except BlockValueError as err:
        if err.block is not cls:
            raise
        raise ConfigError(message(f"{where}.{err.key}", err.detail)) from None
