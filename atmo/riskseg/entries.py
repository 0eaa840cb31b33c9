"""Which of riskseg's products are compared, and as what (no heavy imports: the rules read them while parsing).

The names themselves are :mod:`atmo.riskseg.products`'.

See :mod:`atmo.riskseg.comparison` for what each entry is and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atmo.riskseg.products import ensemble_entry, final_entry, fixed_decision_entry, seed_product, single_entry

#: The seed label of a product built from all of a variant's seeds (ensemble, its CRF).
ENSEMBLE_SEED = "ensemble"
#: The seed label of a product fitted once (a pixel baseline, the oracle), as other experiments' baselines.
SINGLE_FIT = "0"


#: The write-up's decision rule, against which the fitted one is compared.
WRITE_UP_RULE = "argmax"


def crf_ablations(settings: Mapping[str, Any]) -> dict[str, str]:
    """``{CRF product: the product it is compared with}`` of the full variant's ensemble.

    The ``crf_ablation`` entry (the write-up's Potts V2.5 CRF by default) against the full variant's own
    CRF; V2's CRF settings against ``crf_ablation`` (the write-up's enhanced-CRF step, both Potts).
    """
    full, crf = settings["full"], settings["crf"]
    own = crf[full]
    against = settings.get("crf_ablation") or own
    pairs = {}
    if against != own:
        pairs[final_entry(full, against)] = final_entry(full, own)
    v2 = settings.get("v2")
    if v2 is not None and crf[v2] not in (against, own):
        pairs[final_entry(full, crf[v2])] = final_entry(full, against)
    return pairs


def entries(settings: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Every compared entry: ``{name: {"kind", "products": {seed label: product name}}}``.

    ``settings``: ``full``, ``v2`` (or ``None``), ``crf_ablation`` (a CRF entry or ``None``),
    ``ablations`` (component -> variant), ``mode`` and ``other_mode`` (plain / tta), ``crf``
    (variant -> its CRF) and ``seeds`` (variant -> seed list).

    Besides the models, V2's baseline and one single-seed entry per ablation variant, the full
    variant's other products are ``ablation`` entries too, each compared with what it changes
    (:func:`atmo.riskseg.comparison.plan`): its seeds in the other inference mode (TTA), its
    ensemble by the write-up's argmax instead of the fitted rule, and its ensemble under other CRFs
    (:func:`crf_ablations`).
    ``references``: the pixel baselines and the oracle (name -> kind ``baseline`` or ``oracle``),
    each its own product.
    """
    full, mode, crf, seeds = settings["full"], settings["mode"], settings["crf"], settings["seeds"]

    def singles(variant: str, in_mode: str = mode) -> dict[str, str]:
        return {str(seed): seed_product(variant, seed, in_mode) for seed in seeds[variant]}

    def ensemble_made(name: str, kind: str) -> dict[str, Any]:
        return {"kind": kind, "products": {ENSEMBLE_SEED: name}}

    found: dict[str, dict[str, Any]] = {
        final_entry(full, crf[full]): ensemble_made(final_entry(full, crf[full]), "model"),
        ensemble_entry(full): ensemble_made(ensemble_entry(full), "model"),
        single_entry(full, mode): {"kind": "model", "products": singles(full)},
    }
    v2 = settings.get("v2")
    if v2 is not None:
        found[final_entry(v2, crf[v2])] = ensemble_made(final_entry(v2, crf[v2]), "baseline")
    for variant in settings.get("ablations", {}).values():
        found[single_entry(variant, mode)] = {"kind": "ablation", "products": singles(variant)}
    found[single_entry(full, settings["other_mode"])] = {
        "kind": "ablation",
        "products": singles(full, settings["other_mode"]),
    }
    write_up_rule = fixed_decision_entry(full, WRITE_UP_RULE)
    found[write_up_rule] = ensemble_made(write_up_rule, "ablation")
    for product in crf_ablations(settings):
        found[product] = ensemble_made(product, "ablation")
    for name, kind in settings.get("references", {}).items():
        found[name] = {"kind": kind, "products": {SINGLE_FIT: name}}
    return found
