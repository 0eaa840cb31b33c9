"""Turn a JSON-schema validation failure into one line that names the key and what was expected.

A jsonschema error is a full report (schema dumps included). Users need one line: which key, what
it holds, what the schema wants. :mod:`atmo.workflow_config` validates the workflow config and
raises :func:`describe_validation_error`'s line.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema.exceptions import ValidationError, best_match


def dotted_key(path: Iterable[Any]) -> str:
    """``['riskseg', 'train', 'lr']`` -> ``'riskseg.train.lr'``; list indices as ``[i]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


_FORMAT_EXAMPLES = {"date": "'2019-05-01' (YYYY-MM-DD)", "date-time": "'2019-05-01T12:30:00' (ISO 8601)"}


def _expected(error: ValidationError) -> str:
    value = error.validator_value
    if error.validator == "type":
        wanted = " or ".join(value) if isinstance(value, list) else value
        return f"expected {wanted}, got {type(error.instance).__name__} {error.instance!r}"
    if error.validator == "enum":
        return f"expected one of {value}, got {error.instance!r}"
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        return f"unknown key(s) {unknown}; allowed keys are {allowed}"
    if error.validator == "format" and value in _FORMAT_EXAMPLES:
        return f"expected a {value} such as {_FORMAT_EXAMPLES[value]}, got {error.instance!r}"
    if error.validator == "required":
        return f"missing required key: {error.message.split(' is a required')[0]}"
    return " ".join(error.message.split())


def describe_validation_error(error: ValidationError) -> str:
    """One line: ``config key 'a.b': <what was expected>``, for the most relevant sub-error."""
    error = best_match([error, *error.context]) if error.context else error
    return f"invalid config: key '{dotted_key(error.absolute_path)}': {_expected(error)}"
