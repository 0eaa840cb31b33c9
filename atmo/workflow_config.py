"""The workflow's config check: schema validation with defaults filled, one line per error.

``rules/common.smk`` calls :func:`validate_workflow_config` before any rule is defined, and the unit
tests call the same function, so what they test is what the workflow does.

- The list of modules is :data:`MODULES`, here and nowhere else (the schema's enum is checked
  against it by a test). Only the modules named in ``modules:`` are validated and later included,
  so a user running one experiment is not affected by another's settings or absence.
- Each enabled module's block is validated against ``config/schema/<module>.schema.yaml`` and its
  ``train`` block (if the schema has one) against ``train.schema.yaml``; missing keys take the
  schema's defaults in place. Doing it per block, with one validator class that fills defaults,
  avoids jsonschema's switch to a plain validator at a ``$ref`` to a file with its own ``$schema``.
- A missing module block or a missing required block is the same one-line error as a bad value:
  ``invalid config: key 'cbh': missing module block (the module is listed in 'modules')``.
"""

from __future__ import annotations

import copy
import datetime
import functools
import os
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator, FormatChecker, validators
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from atmo.config import describe_validation_error
from atmo.errors import ConfigError

MODULES = ("nowcast", "cbh", "riskseg", "downscale")
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _fill_defaults(validator_class: type) -> type:
    """``validator_class`` that also writes each property's ``default`` into the instance."""
    check_properties = validator_class.VALIDATORS["properties"]

    def properties(validator: Any, props: dict, instance: Any, schema: dict) -> Iterator[ValidationError]:
        if isinstance(instance, MutableMapping):
            for name, sub in props.items():
                if isinstance(sub, dict) and "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from check_properties(validator, props, instance, schema)

    return validators.extend(validator_class, {"properties": properties})


_Filling = _fill_defaults(Draft202012Validator)


def _format_checker() -> FormatChecker:
    """Checks ``format: date`` and ``format: date-time`` strictly (jsonschema treats formats as notes unless asked).

    ISO 8601 as Python reads it: ``2019-13-45`` is refused here, naming its key, instead of failing
    later inside pandas without one.
    """
    checker = FormatChecker(formats=())

    @checker.checks("date", raises=ValueError)
    def _date(value: object) -> bool:
        return not isinstance(value, str) or bool(datetime.date.fromisoformat(value))

    @checker.checks("date-time", raises=ValueError)
    def _date_time(value: object) -> bool:
        return not isinstance(value, str) or bool(datetime.datetime.fromisoformat(value))

    return checker


_FORMATS = _format_checker()


def _registry(schema_dir: Path) -> Registry:
    def retrieve(uri: str) -> Resource:
        path = Path(uri.removeprefix("file://"))
        return Resource.from_contents(_load(path), default_specification=DRAFT202012)

    return Registry(retrieve=retrieve)


def module_validator(schema_dir: str | os.PathLike[str], module: str) -> Draft202012Validator:
    """A plain (non-filling) validator of one module's schema with its relative ``$ref`` resolved: for tests."""
    return Draft202012Validator(_load(Path(schema_dir) / f"{module}.schema.yaml"), registry=_registry(Path(schema_dir)))


def _load(path: Path) -> dict:
    """A fresh copy of the schema at ``path`` (parsed once per process: the C loader, when built, is ~10x faster)."""
    return copy.deepcopy(_parsed(path.resolve()))


@functools.cache
def _parsed(path: Path) -> dict:
    schema = yaml.load(path.read_text(), Loader=_LOADER)
    schema["$id"] = path.as_uri()  # relative $refs resolve beside the file
    return schema


def _check(instance: Any, schema_path: Path, prefix: str, registry: Registry) -> None:
    validator = _Filling(_load(schema_path), registry=registry, format_checker=_FORMATS)
    error = best_match(validator.iter_errors(instance))
    if error is not None:
        if prefix:
            error.path.extendleft(reversed(prefix.split(".")))
        raise ConfigError(describe_validation_error(error))


def validate_workflow_config(config: dict, schema_dir: str | os.PathLike[str]) -> dict:
    """Validate ``config`` in place (defaults filled) against the schemas in ``schema_dir``.

    ``schema_dir`` holds ``schema.yaml`` and ``schema/<module>.schema.yaml``. Raises
    :class:`ConfigError` with one line naming the key. Returns ``config``.
    """
    schema_dir = Path(schema_dir)
    registry = _registry(schema_dir)
    top = _load(schema_dir / "schema.yaml")
    top["properties"] = {  # module blocks are checked below, only for enabled modules
        key: value if key == "modules" else {"type": "object"} for key, value in top["properties"].items()
    }
    top.pop("required", None)
    error = best_match(_Filling(top, registry=registry, format_checker=_FORMATS).iter_errors(config))
    if error is not None:
        raise ConfigError(describe_validation_error(error))
    for module in config["modules"]:
        if not isinstance(config.get(module), dict):
            raise ConfigError(
                f"invalid config: key '{module}': missing module block (the module is listed in 'modules')"
            )
        module_schema = schema_dir / "schema" / f"{module}.schema.yaml"
        _check(config[module], module_schema, module, registry)
        if "train" in _load(module_schema).get("properties", {}):
            if not isinstance(config[module].get("train"), dict):
                raise ConfigError(f"invalid config: key '{module}.train': missing train block")
            _check(config[module]["train"], schema_dir / "schema" / "train.schema.yaml", f"{module}.train", registry)
    return config
