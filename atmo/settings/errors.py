"""Every settings problem as one line: ``invalid config: key 'hail.tiles.tile_size': expected >= 8, got 4``.

A jsonschema error is a full report (schema dumps included). Users need one line: which key, what
it holds, what the schema wants. The workflow check (:mod:`atmo.settings.workflow`) and the block
builder (:mod:`atmo.settings.blocks`) both raise these lines, so a value is reported the same way
whether Snakemake parses the config or a notebook builds one block.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError, best_match

from atmo.errors import ConfigError


def dotted_key(path: Iterable[Any]) -> str:
    """``['hail', 'train', 'lr']`` -> ``'hail.train.lr'``; list indices as ``[i]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def message(key: str, detail: str) -> str:
    """The one line for ``key`` (a dotted config path)."""
    return f"invalid config: key '{key}': {detail}"


def got(value: Any) -> str:
    """How a bad value reads after "got": its type and its repr."""
    return f"{type(value).__name__} {value!r}"


class BlockValueError(ConfigError):
    """A cross-key check of one settings class failed; :func:`atmo.settings.build_block` re-roots it at its key.

    A directly constructed block names its key under the class's ``WHERE``; a block built from the
    config names it under the path it was built from (``hail.crf.fine.halo``).
    """

    def __init__(self, block: type, key: str, detail: str) -> None:
        self.block, self.key, self.detail = block, key, detail
        super().__init__(message(f"{getattr(block, 'WHERE', block.__name__)}.{key}", detail))


_FORMAT_EXAMPLES = {"date": "'2019-05-01' (YYYY-MM-DD)", "date-time": "'2019-05-01T12:30:00' (ISO 8601)"}

#: Bounds as a reader writes them: ``expected >= 8, got 4`` instead of "4 is less than the minimum of 8".
_BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _expected(error: ValidationError) -> str:
    value, instance = error.validator_value, error.instance
    if error.validator == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return f"expected {wanted}, got {got(instance)}"
    if error.validator == "enum":
        return f"expected one of {value}, got {instance!r}"
    if error.validator in _BOUNDS:
        return f"expected {_BOUNDS[error.validator]} {value}, got {instance!r}"
    if error.validator == "multipleOf":
        return f"expected a multiple of {value}, got {instance!r}"
    if error.validator in ("minItems", "maxItems"):
        bound = "at least" if error.validator == "minItems" else "at most"
        return f"expected {bound} {value} item(s), got {instance!r}"
    if error.validator == "uniqueItems":
        return f"expected distinct items, got {instance!r}"
    if error.validator == "additionalProperties":
        others = _unknown(error)[1:]
        also = f" (also unknown: {others})" if others else ""
        return f"unknown key{also}; allowed keys are {sorted(error.schema.get('properties', {}))}"
    if error.validator == "pattern":
        return f"expected a string matching {value!r}, got {instance!r}"
    if error.validator == "format" and value in _FORMAT_EXAMPLES:
        return f"expected a {value} such as {_FORMAT_EXAMPLES[value]}, got {instance!r}"
    if error.validator == "required":
        return f"missing required key: {error.message.split(' is a required')[0]}"
    return " ".join(error.message.split())


def describe_validation_error(error: ValidationError, where: str = "") -> str:
    """One line for the most relevant sub-error of ``error``; ``where`` is the dotted path of the validated block."""
    error = best_match([error, *error.context]) if error.context else error
    path = [*where.split("."), *error.absolute_path] if where else list(error.absolute_path)
    if error.validator == "additionalProperties":
        path.append(_unknown(error)[0])  # name the misspelt key itself
    return message(dotted_key(path), _expected(error))


def _unknown(error: ValidationError) -> list[str]:
    return sorted(set(error.instance) - set(error.schema.get("properties", {})))


def raise_first(errors: Iterable[ValidationError], where: str = "") -> None:
    """:class:`ConfigError` with the line of the most relevant of ``errors``; nothing when there are none."""
    error = best_match(errors)
    if error is not None:
        raise ConfigError(describe_validation_error(error, where))
