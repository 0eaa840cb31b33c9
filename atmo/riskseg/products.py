"""riskseg's product names, built and parsed here only, and the settings that name them.

The score job scores rasters under names that the comparisons, the report and the summary read
back: the rules build the names, the results code parses them. Both go through this module, so a
name never has to be split by hand (``"v25/crf_v25"`` once came back from a wildcard and was split
again in two places). Torch-free: the rules import it while Snakemake parses the workflow.

Names (``<variant>`` a key of ``riskseg.variants``, ``<mode>`` ``plain`` or ``tta``):

- ``<variant>/seed<S>_<mode>``: one seed's probabilities (:func:`seed_product`);
- ``<variant>/single_<mode>``: the entry of a variant's single-seed products, one per seed (:func:`single_entry`);
- ``<variant>/ensemble``: the seed ensemble, classes by the variant's fitted decision rule (:func:`ensemble_entry`);
- ``<variant>/ensemble_<rule>``: the same ensemble by a fixed rule (:func:`fixed_decision_entry`);
- ``<variant>/crf_<crf>``: the ensemble after CRF ``<crf>`` of ``riskseg.crf`` (:func:`final_entry`);
- ``<name>``: a reference (a pixel baseline or the oracle), one fit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: What a product name is the name of (:class:`Product`'s ``stage``).
SEED, SINGLE, ENSEMBLE, FIXED_DECISION, CRF, REFERENCE = (
    "seed",
    "single",
    "ensemble",
    "fixed_decision",
    "crf",
    "reference",
)
_NAMES = {
    SEED: re.compile(r"seed(?P<seed>\d+)_(?P<mode>plain|tta)"),
    SINGLE: re.compile(r"single_(?P<mode>plain|tta)"),
    ENSEMBLE: re.compile(r"ensemble"),
    FIXED_DECISION: re.compile(r"ensemble_(?P<setting>.+)"),
    CRF: re.compile(r"crf_(?P<setting>.+)"),
}


def seed_product(variant: str, seed: int | str, mode: str) -> str:
    """The score job's name of one seed's probabilities in ``mode``."""
    return f"{variant}/seed{seed}_{mode}"


def single_entry(variant: str, mode: str) -> str:
    """The name of a variant's single-seed products in inference ``mode`` (one per seed)."""
    return f"{variant}/single_{mode}"


def ensemble_entry(variant: str) -> str:
    """The name of a variant's seed ensemble (classes by the run's decision rule, no CRF)."""
    return f"{variant}/ensemble"


def fixed_decision_entry(variant: str, rule: str) -> str:
    """The name of a variant's seed ensemble turned into classes by a fixed ``rule``, not its fitted one."""
    return f"{variant}/ensemble_{rule}"


def final_entry(variant: str, crf: str) -> str:
    """The name of a variant's final product: its seed ensemble after CRF ``crf``."""
    return f"{variant}/crf_{crf}"


@dataclass(frozen=True)
class Product:
    """A product or entry name taken apart: which variant, what of it, and the seed, mode and setting it names.

    ``setting`` is the CRF entry of a ``crf`` product and the rule of a ``fixed_decision`` one; a
    ``reference`` has no variant.
    """

    name: str
    stage: str
    variant: str | None = None
    seed: str | None = None
    mode: str | None = None
    setting: str | None = None


def parse_product(name: str) -> Product:
    """The :class:`Product` a name of this module stands for; ``ValueError`` for a name it never builds.

    A name without ``/`` is a reference's (its own name).
    """
    if "/" not in name:
        return Product(name, REFERENCE)
    variant, what = name.split("/", 1)
    for stage, pattern in _NAMES.items():
        match = pattern.fullmatch(what)
        if match is not None:
            return Product(name, stage, variant, **match.groupdict())
    raise ValueError(
        f"riskseg product name {name!r} is none of <variant>/seed<S>_<mode>, /single_<mode>, /ensemble, "
        "/ensemble_<rule>, /crf_<crf>"
    )


def inference_modes(block: Mapping[str, Any]) -> tuple[str, str]:
    """``(mode, other_mode)``: the probabilities the ensembles, CRFs and scores use (``tta`` with
    ``riskseg.inference.tta``, else ``plain``), and the other one (the TTA row)."""
    return ("tta", "plain") if block["inference"]["tta"] else ("plain", "tta")


def reference_kinds(block: Mapping[str, Any]) -> dict[str, str]:
    """``{name: kind}`` of the references: each pixel baseline (``baseline``), the synthetic scene's oracle."""
    return {
        **dict.fromkeys(block.get("baselines", {}), "baseline"),
        **({"oracle": "oracle"} if block["source"] == "synthetic" else {}),
    }


def entry_settings(block: Mapping[str, Any]) -> dict[str, Any]:
    """What the compared entries are made of (:func:`atmo.riskseg.entries.entries`), from the ``riskseg`` block.

    The roles of ``riskseg.comparison``, the two inference modes, each variant's CRF and seeds, and
    the references: the comparisons' settings, and the core of :func:`report_context`.
    """
    comparison, variants = block["comparison"], block["variants"]
    mode, other_mode = inference_modes(block)
    return {
        "full": comparison["full"],
        "v2": comparison.get("v2"),
        "crf_ablation": comparison.get("crf_ablation"),
        "ablations": dict(comparison.get("ablations", {})),
        "mode": mode,
        "other_mode": other_mode,
        "crf": {name: spec["crf"] for name, spec in variants.items()},
        "seeds": {name: list(spec["seeds"]) for name, spec in variants.items()},
        "references": reference_kinds(block),
    }


def report_context(block: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`entry_settings` plus what only the report words: each variant's head and each CRF's compatibility."""
    return {
        **entry_settings(block),
        "head": {name: spec["head"] for name, spec in block["variants"].items()},
        "crf_compat": {name: entry["compat"] for name, entry in block["crf"].items()},
    }
