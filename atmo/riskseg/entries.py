"""The names and kinds of riskseg's compared entries (no heavy imports: the rules read them while parsing).

See :mod:`atmo.riskseg.comparison` for what each entry is and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The seed label of a product built from all of a variant's seeds (ensemble, its CRF).
ENSEMBLE_SEED = "ensemble"
#: The seed label of a product fitted once (a pixel baseline, the oracle), as other experiments' baselines.
SINGLE_FIT = "0"


def final_entry(variant: str, crf: str) -> str:
    """The name of a variant's final product: its seed ensemble after CRF ``crf``."""
    return f"{variant}/crf_{crf}"


def ensemble_entry(variant: str) -> str:
    """The name of a variant's seed ensemble (classes by the run's decision rule, no CRF)."""
    return f"{variant}/ensemble"


def single_entry(variant: str, mode: str) -> str:
    """The name of a variant's single-seed products in inference ``mode`` (one per seed)."""
    return f"{variant}/single_{mode}"


def seed_product(variant: str, seed: int | str, mode: str) -> str:
    """The score job's name of one seed's probabilities in ``mode``."""
    return f"{variant}/seed{seed}_{mode}"


def entries(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every compared entry: ``{name: {"kind", "products": {seed label: product name}}}``.

    ``settings``: ``full``, ``v2`` (or ``None``), ``ablations`` (component -> variant), ``mode``,
    ``crf`` (variant -> its CRF), ``seeds`` (variant -> seed list) and ``references`` (the pixel
    baselines and the oracle, name -> kind ``baseline`` or ``oracle``; each its own product).
    """
    full, mode, crf, seeds = settings["full"], settings["mode"], settings["crf"], settings["seeds"]

    def singles(variant: str) -> dict[str, str]:
        return {str(seed): seed_product(variant, seed, mode) for seed in seeds[variant]}

    found: dict[str, dict[str, Any]] = {
        final_entry(full, crf[full]): {"kind": "model", "products": {ENSEMBLE_SEED: final_entry(full, crf[full])}},
        ensemble_entry(full): {"kind": "model", "products": {ENSEMBLE_SEED: ensemble_entry(full)}},
        single_entry(full, mode): {"kind": "model", "products": singles(full)},
    }
    v2 = settings.get("v2")
    if v2 is not None:
        found[final_entry(v2, crf[v2])] = {"kind": "baseline", "products": {ENSEMBLE_SEED: final_entry(v2, crf[v2])}}
    for variant in settings.get("ablations", {}).values():
        found[single_entry(variant, mode)] = {"kind": "ablation", "products": singles(variant)}
    for name, kind in settings.get("references", {}).items():
        found[name] = {"kind": kind, "products": {SINGLE_FIT: name}}
    return found
