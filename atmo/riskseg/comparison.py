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
  pair ``ensemble - single seeds`` says what averaging the seeds buys.

The shared layer compares every ``model`` entry with the best baseline, so the single-seed and the
ensemble entries of the full variant also get a row against V2's final product.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atmo.metrics.paired import BootstrapSettings, Resampling
from atmo.metrics.pooled import cohen_kappa
from atmo.report.comparisons import Plan
from atmo.riskseg.entries import ensemble_entry, final_entry, single_entry

UNIT_NAME = "test blocks"
N_CLASSES = 3


def plan(settings: Mapping[str, Any], bootstrap: BootstrapSettings) -> Plan:
    """Kappa over test blocks; headline: the full variant's final product; ablations per seed; the write-up
    pairs (ensemble against single seeds, the final product against each pixel baseline)."""
    full, mode = settings["full"], settings["mode"]
    single = single_entry(full, mode)
    final = final_entry(full, settings["crf"][full])
    return Plan(
        metric=cohen_kappa(N_CLASSES),
        resampling=Resampling("units", bootstrap),
        unit_name=UNIT_NAME,
        headline=final,
        ablations={single_entry(variant, mode): single for variant in settings.get("ablations", {}).values()},
        write_up=[(ensemble_entry(full), single), *((final, name) for name in settings.get("baselines", ()))],
    )
