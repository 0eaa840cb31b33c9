"""What riskseg compares: its entries, the metric, the units and the named pairs.

Units are the **test blocks** (whole spatial blocks of :mod:`atmo.riskseg.tiles`), resampled with
replacement (scheme ``units``); the metric is unweighted Cohen's kappa re-formed from the summed
per-block confusion matrices (:func:`atmo.metrics.pooled.cohen_kappa`). Class-1 precision can be
undefined (no pixel predicted medium), so it is shown in the tables but never compared.

Entries (:func:`atmo.riskseg.entries.entries`; names are product names of the score job):

- ``<full>/crf_<crf>``: the full variant's final product, the mean of its seeds' probabilities after
  its CRF; one product built from every seed (seed label :data:`ENSEMBLE_SEED`). Kind ``model``:
  the headline, against the best baseline.
- ``<v2>/crf_<crf>``: the same product of V2, kind ``baseline``.
- each pixel baseline of ``riskseg.baselines`` (:mod:`atmo.riskseg.baselines`), kind ``baseline``,
  fitted once; the write-up pairs compare the final product with every one of them, so the
  per-pixel baselines get their interval whichever baseline is best.
- ``oracle`` (synthetic source only, :mod:`atmo.riskseg.oracle`), kind ``oracle``: scored and
  shown, never compared.
- ``<variant>/single_<mode>``: a variant's plain single-seed products (each seed's own probabilities
  at the run's decision rule), one per seed. The full variant's is kind ``model``, every ablation's
  kind ``ablation``, compared with the full variant's: the same kind of product on both sides, with
  the seeds resampled.
- ``<full>/ensemble``: the full variant's seed ensemble without CRF, kind ``model``; the write-up
  pair ``ensemble - single seeds`` says what averaging the seeds buys, ``final - ensemble`` what
  the CRF does.
- the full variant's other products, kind ``ablation``, each against what it changes: its seeds
  in the other inference mode (TTA) against its single seeds; its ensemble by the write-up's argmax
  against the fitted decision rule; its ensemble under the ``crf_ablation`` CRF (the write-up's Potts
  V2.5) against its own CRF, and under V2's CRF against ``crf_ablation`` (the write-up's enhanced CRF).

Write-up pairs besides: with both a ``head`` and an ``ordinal`` ablation, ``softmax head - no
CORAL`` is the CORAL loss alone (both decode the softmax head); and V2.5's final product against
V2's, which is the headline only while V2 is the best baseline.

The shared layer compares every ``model`` entry with the best baseline, so the single-seed and the
ensemble entries of the full variant also get a row against the best baseline's final product.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atmo.metrics.paired import BootstrapSettings, Resampling
from atmo.metrics.pooled import cohen_kappa
from atmo.publish.comparisons import Plan
from atmo.riskseg.entries import (
    WRITE_UP_RULE,
    crf_ablations,
    ensemble_entry,
    final_entry,
    fixed_decision_entry,
    single_entry,
)

UNIT_NAME = "test blocks"
N_CLASSES = 3


def plan(settings: Mapping[str, Any], bootstrap: BootstrapSettings) -> Plan:
    """Kappa over test blocks; headline: the full variant's final product; the ablations and write-up pairs.

    ``settings`` as :func:`atmo.riskseg.entries.entries` reads them.
    """
    full, mode = settings["full"], settings["mode"]
    single, ensemble = single_entry(full, mode), ensemble_entry(full)
    final = final_entry(full, settings["crf"][full])
    components = settings.get("ablations", {})
    ablations = {single_entry(variant, mode): single for variant in components.values()}
    ablations[single_entry(full, settings["other_mode"])] = single
    ablations[fixed_decision_entry(full, WRITE_UP_RULE)] = ensemble
    ablations.update(crf_ablations(settings))
    write_up = [(ensemble, single), (final, ensemble)]
    if "head" in components and "ordinal" in components:
        write_up.append((single_entry(components["head"], mode), single_entry(components["ordinal"], mode)))
    v2 = settings.get("v2")
    if v2 is not None:
        write_up.append((final, final_entry(v2, settings["crf"][v2])))
    write_up += [(final, name) for name, kind in settings.get("references", {}).items() if kind == "baseline"]
    return Plan(
        metric=cohen_kappa(N_CLASSES),
        resampling=Resampling("units", bootstrap),
        unit_name=UNIT_NAME,
        headline=final,
        ablations=ablations,
        write_up=write_up,
    )
