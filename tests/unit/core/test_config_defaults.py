"""The schema and the code agree: every schema default is the dataclass default, every name a registry entry.

Snakemake fills the schema's ``default:`` entries before a job runs; the library fills the dataclass
defaults when a block is built from a hand-written dict (:func:`atmo.config_blocks.build_block`).
Two copies of one number drift apart unless a test compares them, so this one walks every module
schema (and ``train.schema.yaml``) and checks, block by block:

* every key of a block is a field of its dataclass and every field a key (exceptions listed below,
  each with its reason), nested blocks (``nowcast.cache.normalisation``) recursively;
* each schema default equals the field default, and a block of the schema's defaults builds to
  the dataclass's defaults (so their types agree as well);
* every architecture / baseline name the schema allows is in the module's registry and vice versa,
  and the ``params`` keys the schema allows for an architecture are its constructor's keywords;
* every block of the shipped configs (config, test, full, sevir_vil) builds.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from atmo.cbh.mae import MaskedAutoencoder
from atmo.cbh.models import CBH_MODELS
from atmo.cbh.views import ViewSettings
from atmo.config_blocks import build_block
from atmo.config_checks import BLOCKS as CONFIG_BLOCKS
from atmo.config_checks import block_class
from atmo.downscale.models import DOWNSCALE_MODELS
from atmo.errors import ConfigError
from atmo.nowcast.baselines import BASELINES
from atmo.nowcast.losses import NowcastLoss
from atmo.nowcast.models.registry import MODELS
from atmo.nowcast.source import SourceConfig
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig
from atmo.riskseg.baselines import BaselineSettings
from atmo.riskseg.crf import CrfSettings
from atmo.riskseg.losses import LossSettings
from atmo.riskseg.models import RISKSEG_MODELS
from atmo.riskseg.oversample import OversamplingSettings
from atmo.train import TrainConfig
from atmo.workflow_config import validate_workflow_config

SCHEMA_DIR = Path(__file__).resolve().parents[3] / "config" / "schema"
MODULES = ("nowcast", "cbh", "riskseg", "downscale")

#: Every config block (dotted path) that code builds, and the dataclass it becomes.
BLOCKS: dict[str, type] = {path: block_class(path) for path in CONFIG_BLOCKS}

#: Module-level keys whose default lives in a field of a composite dataclass.
ALIASES: dict[str, tuple[type, str]] = {
    "nowcast.source": (SourceConfig, "source"),
    "nowcast.seed": (SyntheticSevirConfig, "seed"),
}

#: Dataclass fields that are no key of their block, and why.
EXTRA_FIELDS: dict[tuple[type, str], str] = {
    (SyntheticSevirConfig, "seed"): "the module seed nowcast.seed (see ALIASES), set by SourceConfig.from_config",
}

#: Module-level keys without a dataclass, and why.
NO_DATACLASS: dict[str, str] = {
    "nowcast.models": (
        "entries {arch, kind, params, loss} reach atmo.nowcast.training as mappings: params are the "
        "architecture's constructor keywords, loss NowcastLoss's (both compared below)"
    ),
    "nowcast.baselines": "a list of names; compared with the baseline registry below",
    "cbh.source": "a scalar rule param branched on in workflow_scripts/cbh_flights.py; no default in code",
    "cbh.seed": "a scalar rule param passed to the generators as a required argument; no default in code",
    "cbh.local_dir": "a scalar rule param, a directory for source local; no default in code",
    "cbh.flights": "a list: rules/cbh.smk makes one job per flight; name + hours or samples required",
    "cbh.mae": (
        "the pretraining mode (a rule switch), named encoder entries {view, params} (ViewSettings and "
        "MaskedAutoencoder keywords, compared below) and a train block validated by train.schema.yaml"
    ),
    "cbh.models": (
        "entries {arch, encoder, params, loss, seeds} reach atmo.cbh.training as mappings: params are the "
        "architecture's constructor keywords (compared below); seeds make the jobs (rules)"
    ),
    "nowcast.comparison": (
        "entry names read by atmo.nowcast.comparison.comparison_settings (defaults there equal the schema's) "
        "and checked against nowcast.models by check_comparison when the rules are parsed"
    ),
    "cbh.comparison": (
        "approach names read by atmo.cbh.approaches.comparison_settings (defaults there equal the schema's) "
        "and checked against cbh.models by the rules"
    ),
    "riskseg.source": "a scalar rule param branched on in workflow_scripts/riskseg_scene.py; no default in code",
    "riskseg.seed": "a scalar rule param passed as a required argument; no default in code",
    "riskseg.local": "input paths of rules/riskseg.smk; both keys required, no defaults",
    "riskseg.url": "the manifest (an input of rules/riskseg.smk, no default) and the transfer keys, read by "
    "atmo.io.download.transfer_settings with DownloadSettings defaults",
    "riskseg.oversampling": "named OversamplingSettings entries (compared with #/$defs/oversampling below)",
    "riskseg.crf": "named CrfSettings entries (compared with #/$defs/crf below)",
    "riskseg.baselines": "named BaselineSettings entries (compared with #/$defs/baseline below)",
    "riskseg.variants": (
        "entries {arch, params, loss, oversampling, crf, seeds, head, weights_from} reach atmo.riskseg.training as "
        "mappings (head and weights_from the rules and the predict job): params "
        "are the architecture's constructor keywords, loss LossSettings' (both compared below)"
    ),
    "riskseg.comparison": "variant names of the ablation table's roles; checked against riskseg.variants by the rules",
    "riskseg.targets": "thresholds of the success report, read as a mapping by atmo.riskseg.results",
    "riskseg.baseline_metrics": "an optional input path; no default in code",
    "downscale.source": "a scalar rule param branched on in workflow_scripts/downscale_fields.py; no default in code",
    "downscale.seed": "a scalar rule param passed to generate_fields as a required argument; no default in code",
    "downscale.local": "input paths of rules/downscale_inputs.smk only; read by no library code",
    "downscale.variants": (
        "entries {arch, seeds, params, loss} reach atmo.downscale.training as mappings: params are the "
        "architecture's constructor keywords (compared below), loss TailWeightedLoss's; seeds make the jobs (rules)"
    ),
    "downscale.sampling": (
        "epochs and modes make the jobs (rules); k, temperature, batch_size and seed are arguments of sample_checkpoint"
    ),
}

#: Schema definitions of a constructor's keywords (style: constructor arguments = config keys).
CONSTRUCTOR_BLOCKS: dict[tuple[str, str], Callable[..., Any]] = {
    ("nowcast", "#/$defs/loss"): NowcastLoss,
    ("cbh", "#/$defs/view"): ViewSettings,
    ("riskseg", "#/$defs/oversampling"): OversamplingSettings,
    ("riskseg", "#/$defs/crf"): CrfSettings,
    ("riskseg", "#/$defs/baseline"): BaselineSettings,
    ("riskseg", "#/$defs/loss"): LossSettings,
}

#: Per module, the schema's model entry definition and the architecture registry it must match.
ARCH_REGISTRIES: dict[str, tuple[str, Mapping[str, Callable[..., Any]]]] = {
    "nowcast": ("#/$defs/model", MODELS),
    "cbh": ("#/$defs/model", CBH_MODELS),
    "riskseg": ("#/$defs/variant", RISKSEG_MODELS),
    "downscale": ("#/$defs/variant", DOWNSCALE_MODELS),
}

#: Per module, the schema's list of baseline names and the registry it must match.
BASELINE_REGISTRIES: dict[str, tuple[str, Mapping[str, Callable[..., Any]]]] = {
    "nowcast": ("#/properties/baselines/items", BASELINES),
}

#: Per module, constructor keywords a config entry never sets (the data or the encoder checkpoint fix them).
DATA_KEYWORDS = {
    "nowcast": {"frames_in", "frames_out"},
    "riskseg": {"in_channels"},
    "downscale": {"in_channels", "coarse_shape", "factor"},
    "cbh": {
        "n_physical",
        "in_channels",
        "n_tokens",
        "patch_dim",
        *(f"encoder_{k}" for k in ("dim", "depth", "heads", "mlp_ratio")),
    },
}


def _keywords(constructor: Callable[..., Any]) -> set[str]:
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


# ----------------------------------------------------------------------------------------------
# schema access


def _load(name: str) -> dict:
    return yaml.safe_load((SCHEMA_DIR / name).read_text())


def _pointer(doc: dict, ref: str) -> dict:
    node = doc
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _resolve(node: dict, doc: dict) -> tuple[dict, dict]:
    """``node`` with every ``$ref`` replaced by its target (sibling keys win), and the target's document."""
    while "$ref" in node:
        siblings = {key: value for key, value in node.items() if key != "$ref"}
        ref = node["$ref"]
        if not ref.startswith("#"):
            doc = _load(ref)
            ref = "#"
        target = doc if ref == "#" else _pointer(doc, ref)
        node = {**target, **siblings}
    return node, doc


# ----------------------------------------------------------------------------------------------
# comparison


def _plain(value: Any) -> Any:
    """Dataclasses as dicts and tuples as lists, recursively: the shape a YAML default has."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _same(a: Any, b: Any) -> bool:
    """Equal as config values: 60 and 60.0 are, True and 1 are not."""
    a, b = _plain(a), _plain(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    return type(a) is type(b) and a == b


def _field_default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _is_block(node: dict) -> bool:
    return "properties" in node


def block_problems(path: str, node: dict, doc: dict, cls: type) -> list[str]:
    """Where the schema block ``node`` (at ``path``) and dataclass ``cls`` disagree, one line each."""
    problems = []
    properties = node.get("properties", {})
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    for key, raw in properties.items():
        where = f"{path}.{key}"
        if key not in fields:
            problems.append(f"{where}: a schema key without a field in {cls.__name__}")
            continue
        spec, spec_doc = _resolve(raw, doc)
        default = _field_default(fields[key])
        hint = hints[key]
        if _is_block(spec) and dataclasses.is_dataclass(hint):
            problems += block_problems(where, spec, spec_doc, hint)
            nested = spec.get("default", {})
            if default is dataclasses.MISSING or not _same(build_block(hint, nested, where), default):
                problems.append(f"{where}: schema default {nested!r} builds to something else than {default!r}")
        elif "default" in spec and default is dataclasses.MISSING:
            problems.append(f"{where}: schema default {spec['default']!r}, but {cls.__name__}.{key} has none")
        elif "default" in spec and not _same(spec["default"], default):
            problems.append(f"{where}: schema default {spec['default']!r} != {cls.__name__}.{key} = {default!r}")
        elif "default" not in spec and default is not dataclasses.MISSING:
            problems.append(f"{where}: no schema default, but {cls.__name__}.{key} = {default!r}")
    for key in fields:
        if key not in properties and (cls, key) not in EXTRA_FIELDS:
            problems.append(f"{path}.{key}: {cls.__name__} has a field the schema does not allow")
    if not problems and all(_field_default(f) is not dataclasses.MISSING for f in fields.values()):
        defaults = {key: spec["default"] for key, spec in properties.items() if "default" in spec}
        try:
            built = build_block(cls, defaults, path)
        except ConfigError as err:
            problems.append(f"{path}: the schema's defaults do not build: {err}")
        else:
            if built != cls():
                problems.append(f"{path}: the schema's defaults build {built}, not {cls()}")
    return problems


def module_problems(module: str) -> list[str]:
    """Every disagreement between ``<module>.schema.yaml`` and the code."""
    doc = _load(f"{module}.schema.yaml")
    problems = []
    for key, raw in doc["properties"].items():
        path = f"{module}.{key}"
        spec, spec_doc = _resolve(raw, doc)
        if path in BLOCKS:
            problems += block_problems(path, spec, spec_doc, BLOCKS[path])
            if spec.get("default", {}) != {}:
                problems.append(f"{path}: a block's default must be {{}} (its keys carry the defaults)")
        elif path in ALIASES:
            cls, name = ALIASES[path]
            default = _field_default({f.name: f for f in dataclasses.fields(cls)}[name])
            if not _same(spec.get("default"), default):
                problems.append(
                    f"{path}: schema default {spec.get('default')!r} != {cls.__name__}.{name} = {default!r}"
                )
        elif path not in NO_DATACLASS:
            problems.append(f"{path}: no dataclass in BLOCKS, no alias, and no reason in NO_DATACLASS")
    return problems


# ----------------------------------------------------------------------------------------------
# tests


@pytest.mark.parametrize("module", MODULES)
def test_schema_defaults_equal_the_dataclass_defaults(module: str) -> None:
    assert module_problems(module) == []


def test_train_schema_defaults_equal_train_config() -> None:
    doc = _load("train.schema.yaml")
    assert block_problems("train", doc, doc, TrainConfig) == []


def test_the_tables_name_only_what_exists() -> None:
    """A stale entry (a key since removed from the schema) would silently exempt nothing."""
    keys = {f"{module}.{key}" for module in MODULES for key in _load(f"{module}.schema.yaml")["properties"]}
    assert set(BLOCKS) | set(ALIASES) | set(NO_DATACLASS) <= keys
    assert not set(BLOCKS) & set(NO_DATACLASS) and not set(ALIASES) & set(NO_DATACLASS)
    assert all(reason.strip() for reason in [*NO_DATACLASS.values(), *EXTRA_FIELDS.values()])
    for cls, name in EXTRA_FIELDS:
        assert name in {f.name for f in dataclasses.fields(cls)}


@pytest.mark.parametrize(("module", "ref"), list(CONSTRUCTOR_BLOCKS))
def test_schema_defaults_equal_the_constructor_defaults(module: str, ref: str) -> None:
    doc = _load(f"{module}.schema.yaml")
    properties = _pointer(doc, ref)["properties"]
    constructor = CONSTRUCTOR_BLOCKS[(module, ref)]
    parameters = {name: p for name, p in inspect.signature(constructor).parameters.items() if name != "self"}
    assert set(properties) == set(parameters)
    drift = {
        name: (spec.get("default"), parameters[name].default)
        for name, spec in properties.items()
        if not _same(spec.get("default"), parameters[name].default)
    }
    assert drift == {}, f"schema default vs {constructor.__name__} keyword default"


@pytest.mark.parametrize("module", list(ARCH_REGISTRIES))
def test_every_architecture_the_schema_allows_is_registered(module: str) -> None:
    doc = _load(f"{module}.schema.yaml")
    ref, registry = ARCH_REGISTRIES[module]
    entry = _pointer(doc, ref)
    allowed = entry["properties"]["arch"].get("enum")
    assert allowed, f"{module}: the schema must list the architectures in an enum of {ref}/properties/arch"
    assert sorted(allowed) == sorted(registry)
    params = {}
    for rule in entry.get("allOf", []):
        arch = rule["if"]["properties"]["arch"]["const"]
        params[arch] = _resolve(rule["then"]["properties"]["params"], doc)[0]["properties"]
    assert sorted(params) == sorted(registry), "every architecture needs a schema for its params"
    for arch, keys in params.items():
        keywords = _keywords(registry[arch]) - DATA_KEYWORDS[module]
        assert set(keys) == keywords, f"{arch}: schema params {sorted(keys)} vs constructor keywords {sorted(keywords)}"


def test_mae_params_schema_equals_the_mae_constructor() -> None:
    keys = _pointer(_load("cbh.schema.yaml"), "#/$defs/mae_params")["properties"]
    assert set(keys) == _keywords(MaskedAutoencoder) - {"in_channels", "n_tokens", "patch_dim"}


@pytest.mark.parametrize("module", list(BASELINE_REGISTRIES))
def test_every_baseline_the_schema_allows_is_registered(module: str) -> None:
    ref, registry = BASELINE_REGISTRIES[module]
    allowed = _pointer(_load(f"{module}.schema.yaml"), ref).get("enum")
    assert allowed and sorted(allowed) == sorted(registry)


@pytest.mark.parametrize("tier", ["config.yaml", "test.yaml", "full.yaml", "sevir_vil.yaml"])
def test_every_shipped_block_builds(tier: str) -> None:
    """What the scripts receive: the workflow's validated config, schema defaults filled in (enabled modules)."""
    config = validate_workflow_config(yaml.safe_load((SCHEMA_DIR.parent / tier).read_text()), SCHEMA_DIR.parent)
    for path, cls in BLOCKS.items():
        module, key = path.split(".")
        if module in config["modules"] and key in config[module]:  # optional blocks (loss_choice) may be absent
            build_block(cls, config[module][key], path)
    nowcast = config["nowcast"]
    source = SourceConfig.from_config(
        nowcast["source"], nowcast["seed"], nowcast.get("synthetic"), nowcast.get("sevir")
    )
    assert source.source == nowcast["source"] and source.synthetic.seed == nowcast["seed"]


@dataclasses.dataclass(frozen=True)
class _Toy:
    size: int = 3
    name: str = "a"
    ratio: float = 0.5


def test_a_drifted_default_is_reported() -> None:
    """The comparison itself: a changed default, a missing field and an extra field are all caught."""
    schema = {
        "properties": {
            "size": {"type": "integer", "default": 4},
            "name": {"type": "string", "default": "a"},
            "ratio": {"type": "number", "default": 0.5},
            "colour": {"type": "string", "default": "red"},
        }
    }
    problems = block_problems("toy", schema, schema, _Toy)
    assert problems == [
        "toy.size: schema default 4 != _Toy.size = 3",
        "toy.colour: a schema key without a field in _Toy",
    ]
    del schema["properties"]["colour"], schema["properties"]["ratio"]
    schema["properties"]["size"]["default"] = 3
    assert block_problems("toy", schema, schema, _Toy) == ["toy.ratio: _Toy has a field the schema does not allow"]
    schema["properties"]["ratio"] = {"type": "number", "default": True}
    assert block_problems("toy", schema, schema, _Toy) == ["toy.ratio: schema default True != _Toy.ratio = 0.5"]
