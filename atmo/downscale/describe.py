"""The JSON summary written beside a downscale fields file (``results/downscale/fields.json``).

It records what a reader of the report needs to judge the data: grid, factor, predictors, and per
split the period covered, the dry and wet fractions, the intensity statistics the scores are compared
with (mean, P95, P99, max) and the spectral slope of the rain field (RAPSD over wavelengths of 4-32
cells, :func:`atmo.metrics.spectra.spectral_slope`; radar rain: about -2.5 to -3.5). Predictor
statistics come from the training split only, the ones a model normalises with.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from atmo.downscale.field_files import DownscaleFields
from atmo.downscale.split import Split
from atmo.metrics.spectra import rapsd, spectral_slope

#: Amount (mm) from which a cell-day counts as wet in ``wet_fraction`` (the scoring's default dry threshold).
WET_MM = 0.1


def _iso(seconds: int) -> str:
    return datetime.fromtimestamp(int(seconds), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _slope(precip_mm: np.ndarray) -> float | None:
    """The RAPSD slope of ``precip_mm (N, H, W)``; ``None`` where the grid is too small for the fit range."""
    try:
        return spectral_slope(*rapsd(precip_mm))
    except ValueError:
        return None


def describe_fields(fields: DownscaleFields, split: Split) -> dict:
    """Flat-ish JSON summary: per-split precipitation statistics and train-only predictor statistics.

    Predictor mean/std come from the training split only, so a model normalising with them sees
    nothing of the validation or test periods.
    """
    summary: dict = {
        "factor": fields.factor,
        "grid_hr": list(fields.precip_hr_mm.shape[1:]),
        "grid_lr": list(fields.precip_lr_mm.shape[1:]),
        "predictors": list(fields.predictor_names),
        "source": fields.source,
    }
    for name, indices in split.items():
        hr = fields.precip_hr_mm[indices]
        wet = hr[hr > 0]
        summary[name] = {
            "n_samples": len(indices),
            "time_start": _iso(fields.time_s[indices].min()),
            "time_end": _iso(fields.time_s[indices].max()),
            "dry_fraction": float(np.mean(hr == 0)),
            "wet_fraction": float(np.mean(hr >= WET_MM)),
            "rapsd_slope": _slope(hr),
            "mean_mm": float(hr.mean()),
            "wet_mean_mm": float(wet.mean()) if wet.size else 0.0,
            "p95_mm": float(np.percentile(hr, 95)),
            "p99_mm": float(np.percentile(hr, 99)),
            "max_mm": float(hr.max()),
        }
    train = fields.predictors_lr[split.train]
    summary["predictor_stats_train"] = {
        name: {"mean": float(train[:, c].mean()), "std": float(train[:, c].std())}
        for c, name in enumerate(fields.predictor_names)
    }
    return summary
