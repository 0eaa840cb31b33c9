"""The workflow config's schema check, with defaults filled: what ``rules/common.smk`` runs before any rule.

The unit tests call the same function, so what they test is what the workflow does.

- The list of modules is the enum of ``modules`` in ``atmo/settings/workflow.schema.yaml``
  (:data:`MODULES`). Only the modules named in ``modules:`` are validated and later included, so a
  user running one experiment is not affected by another's settings or absence.
- Each enabled module's block is validated against ``atmo/<module>/settings.schema.yaml`` and its
  ``train`` block (if the schema has one) against ``atmo/train/settings.schema.yaml``; missing keys
  take the schema's defaults in place. Doing it per block, with one validator class that fills
  defaults, avoids jsonschema's switch to a plain validator at a ``$ref`` to a file with its own
  ``$schema``. (That switch is also why the ``bootstrap`` blocks and the train blocks nested deeper
  than ``<module>.train`` are checked but not filled: their jobs build them with the schema's
  defaults. Filling them now would change the ``params`` of their rules and rerun every job that
  reads them.)
- A missing module block or a missing required block is the same one-line error as a bad value:
  ``invalid config: key 'hail': missing module block (the module is listed in 'modules')``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, MutableMapping
from typing import Any

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError

from atmo.errors import ConfigError
from atmo.settings.errors import raise_first
from atmo.settings.schema import FORMATS, REGISTRY, document, fresh_document, schema_uri

WORKFLOW_SCHEMA = "settings/workflow"
TRAIN_SCHEMA = "train"
MODULES: tuple[str, ...] = tuple(document(schema_uri(WORKFLOW_SCHEMA))["properties"]["modules"]["items"]["enum"])


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


def _check(instance: Any, schema: dict, where: str) -> None:
    validator = _Filling(schema, registry=REGISTRY, format_checker=FORMATS)
    raise_first(validator.iter_errors(instance), where)


def validate_workflow_config(config: dict) -> dict:
    """Validate ``config`` in place (defaults filled) against the settings schemas; return it.

    Raises :class:`ConfigError` with one line naming the key.
    """
    top = fresh_document(WORKFLOW_SCHEMA)
    top["properties"].update({module: {"type": "object"} for module in MODULES})  # checked below, if enabled
    _check(config, top, "")
    for module in config["modules"]:
        if not isinstance(config.get(module), dict):
            raise ConfigError(
                f"invalid config: key '{module}': missing module block (the module is listed in 'modules')"
            )
        schema = document(schema_uri(module))
        _check(config[module], schema, module)
        if "train" in schema.get("properties", {}):
            if not isinstance(config[module].get("train"), dict):
                raise ConfigError(f"invalid config: key '{module}.train': missing train block")
            _check(config[module]["train"], document(schema_uri(TRAIN_SCHEMA)), f"{module}.train")
    return config
