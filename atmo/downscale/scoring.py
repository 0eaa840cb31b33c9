"""Score one ensemble file (model samples or a baseline) against its truth: a flat, JSON-ready dict.

Every score comes from :mod:`atmo.metrics.ensemble` and :mod:`atmo.metrics.spectra`, streamed over
``batch_size`` test cases at a time. Before scoring, values below ``dry_threshold_mm`` are set to 0
in truth and samples: the decoder's exp output is never exactly 0, and without this the rank
histogram would split the many dry pixels between "truth below all members" and the rest.

Keys (``s`` = mean, p95, p99 (``intensity_quantiles``), max; ``b`` = a CRPS block; ``q`` = a
percentile label such as ``p99``; ``t`` = a threshold label, ``p99`` or ``20mm``; ``w`` = a window).
Undefined scores are ``None`` (JSON null):

- ``method``, ``variant``, ``epoch``, ``mode``, ``k``, ``temperature``, ``deterministic``, ``n_cases``
- ``truth_{s}_mm``, ``samples_{s}_mm`` (all members pooled), ``bias_{s}_mm`` (samples - truth),
  ``ratio_{s}`` (samples / truth): the write-up's max, mean, P95 and the P99 bias
- ``diversity_mm`` (mean across-member std), ``diversity_relative`` (the same / mean): the write-up's diversity
- ``threshold_{q}_mm``: test-truth percentiles; ``tail_mae_{q}_mm``: MAE of every member where truth > it
- ``crps_b{b}_mm`` (block 1 = per pixel, also ``crps_mm``), ``crps_estimator`` (``standard``/``fair``)
- ``rank_histogram`` (K + 1 counts), ``rank_outlier_fraction``, ``rank_expected_outlier_fraction``,
  ``rank_reliability_index``
- ``spread_mm``, ``ensemble_mean_rmse_mm``, ``spread_skill_ratio`` (with the (K+1)/K correction)
- ``rapsd_wavenumber`` (cycles per pixel), ``rapsd_truth``, ``rapsd_samples`` (lists), ``log_spectral_distance_db``
- ``fss_{t}_w{w}`` (mean over members of each member's FSS) and ``fss_prob_{t}_w{w}`` (FSS of the
  exceedance probability) at truth percentiles and absolute thresholds; ``None`` for a threshold <= 0
  mm (a percentile that falls on dry pixels is no extreme)

:func:`day_statistics` gives the same file's additive statistics per test day (the units of the
paired bootstrap, :mod:`atmo.downscale.comparison` and :mod:`atmo.downscale.write_up`): the sum of
the per-pixel CRPS and the pixel count, from which the pooled ``crps_mm`` is re-formed exactly, the
sum of the absolute error of the ensemble mean, the day's largest value (members and truth) and the
sum of the across-member standard deviations (the write-up's diversity, per day).

A deterministic file (``bicubic``, ``posterior_mean``: K = 1 by method) gets the scores that exist
for one field — its CRPS is its MAE — and ``None`` for the ensemble-only ones. A sampled file with
K < 2 is a configuration error (``downscale.sampling.k``): a one-member "ensemble" has no spread.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from atmo.downscale.sample_files import iter_batches, read_header, read_times, read_truth
from atmo.errors import ConfigError
from atmo.metrics.ensemble import (
    CRPSAccumulator,
    DiversityAccumulator,
    EnsembleSizeError,
    FSSAccumulator,
    IntensityAccumulator,
    RankHistogramAccumulator,
    SpreadSkillAccumulator,
    TailMAEAccumulator,
    percentile_thresholds,
    pooled_crps,
    rank_histogram_summary,
)
from atmo.metrics.spectra import RAPSDAccumulator, log_spectral_distance
from atmo.settings import build_block, settings_block

K_KEY = "downscale.sampling.k"


class ScoringSettings(settings_block("downscale", "scoring")):
    """The ``downscale.scoring`` config block (built by :func:`atmo.settings.build_block`)."""


def _label(percentile: float) -> str:
    """``99.0 -> "p99"``, ``99.9 -> "p99.9"``."""
    return "p" + format(percentile, "g")


def _mm_label(threshold: float) -> str:
    return format(threshold, "g") + "mm"


def _plain(value: Any) -> Any:
    """JSON-ready: numpy scalars to Python, NaN/inf to ``None``, arrays to lists."""
    if isinstance(value, np.ndarray):
        return [_plain(v) for v in value.tolist()]
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _dry(values: np.ndarray, threshold: float) -> np.ndarray:
    out = np.asarray(values, dtype=np.float64)
    return np.where(out < threshold, 0.0, out)


def score_samples(
    samples_path: str | os.PathLike[str], settings: ScoringSettings | Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Score the ensemble file ``samples_path`` (layout: :mod:`atmo.downscale.sample_files`); keys above."""
    cfg = build_block(ScoringSettings, settings, ScoringSettings.WHERE)
    header = read_header(samples_path)
    k, deterministic = header.k, bool(header.attrs["deterministic"])
    if k < 2 and not deterministic:
        problem = EnsembleSizeError("the rank histogram, spread-skill ratio and diversity", k)
        raise ConfigError(f"invalid config: key '{K_KEY}': {problem}")
    ensemble = k >= 2
    too_big = [b for b in cfg.crps_blocks if b > min(header.fine_shape)]
    if too_big:
        raise ConfigError(
            f"invalid config: key '{cfg.WHERE}.crps_blocks': block {too_big[0]} is larger than the "
            f"{header.fine_shape[0]}x{header.fine_shape[1]} fields"
        )
    truth = _dry(read_truth(samples_path), cfg.dry_threshold_mm)
    percentiles = sorted(set(cfg.tail_percentiles) | set(cfg.fss_percentiles))
    percentile_mm = dict(zip(percentiles, percentile_thresholds(truth, percentiles), strict=True))
    fss_thresholds = {_label(p): percentile_mm[p] for p in cfg.fss_percentiles}
    fss_thresholds.update({_mm_label(t): t for t in cfg.fss_thresholds_mm})
    fss_keys = list(fss_thresholds)

    crps = CRPSAccumulator(cfg.crps_blocks, fair=cfg.fair_crps and ensemble)
    intensity = IntensityAccumulator(cfg.intensity_quantiles)
    tail = TailMAEAccumulator([percentile_mm[p] for p in cfg.tail_percentiles])
    fss_members = FSSAccumulator(list(fss_thresholds.values()), cfg.fss_windows, "members")
    fss_prob = FSSAccumulator(list(fss_thresholds.values()), cfg.fss_windows, "probability") if ensemble else None
    ranks = RankHistogramAccumulator(cfg.rank_seed) if ensemble else None
    spread = SpreadSkillAccumulator() if ensemble else None
    diversity = DiversityAccumulator() if ensemble else None
    spectrum_truth, spectrum_samples = RAPSDAccumulator(), RAPSDAccumulator()
    for truth_batch, samples_batch in iter_batches(samples_path, cfg.batch_size):
        y = _dry(truth_batch, cfg.dry_threshold_mm)
        x = _dry(samples_batch, cfg.dry_threshold_mm)
        for accumulator in (crps, intensity, tail, fss_members):
            accumulator.update(y, x)
        if ensemble:
            for accumulator in (fss_prob, ranks, spread):
                accumulator.update(y, x)
            diversity.update(x)
        spectrum_truth.update(y)
        spectrum_samples.update(x)

    out: dict[str, Any] = {key: header.attrs[key] for key in ("method", "variant", "epoch", "mode", "temperature")}
    out.update(k=k, deterministic=deterministic, n_cases=header.n_cases)
    for stat, bias in intensity.result().items():
        out.update(
            {
                f"truth_{stat}_mm": bias.truth,
                f"samples_{stat}_mm": bias.forecast,
                f"bias_{stat}_mm": bias.difference,
                f"ratio_{stat}": bias.ratio,
            }
        )
    out["diversity_mm"] = diversity.diversity() if ensemble else None
    out["diversity_relative"] = diversity.diversity(relative=True) if ensemble else None
    for p in percentiles:
        out[f"threshold_{_label(p)}_mm"] = percentile_mm[p]
    for p, value in zip(cfg.tail_percentiles, tail.mae(), strict=True):
        out[f"tail_mae_{_label(p)}_mm"] = value
    for block, value in crps.crps().items():
        out[f"crps_b{block}_mm"] = value
    out["crps_mm"] = out.get("crps_b1_mm")
    out["crps_estimator"] = "fair" if crps.fair else "standard"
    out.update(_ensemble_scores(ranks, spread))
    wavenumber, power_truth = spectrum_truth.result()
    _, power_samples = spectrum_samples.result()
    out.update(rapsd_wavenumber=wavenumber, rapsd_truth=power_truth, rapsd_samples=power_samples)
    try:
        out["log_spectral_distance_db"] = log_spectral_distance(power_samples, power_truth)
    except ValueError:  # a ring of zero power (e.g. all-dry samples): the log is undefined
        out["log_spectral_distance_db"] = None
    out.update(_fss_scores("fss", fss_members, fss_keys, fss_thresholds, cfg.fss_windows))
    out.update(_fss_scores("fss_prob", fss_prob, fss_keys, fss_thresholds, cfg.fss_windows))
    return {key: _plain(value) for key, value in out.items()}


def day_label(time_s: int) -> str:
    """A test day's unit label: its period start in UTC, ``2001-11-20T00:00:00Z`` (unique for sub-daily data too)."""
    return datetime.fromtimestamp(int(time_s), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def day_statistics(
    samples_path: str | os.PathLike[str], settings: ScoringSettings | Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Per test case (day), in the file's (time) order: ``unit``, ``crps_sum_mm``, ``n_pixels``,
    ``abs_error_sum_mm``, ``n_cases``, ``samples_max_mm``, ``truth_max_mm``, ``diversity_sum_mm``.

    ``crps_sum_mm`` sums the per-pixel CRPS with the estimator :func:`score_samples` uses, after the
    same dry threshold, so ``sum(crps_sum_mm) / sum(n_pixels)`` is its ``crps_mm``;
    ``abs_error_sum_mm`` sums ``|mean over members - truth|`` (a deterministic file: its MAE's sum);
    ``n_cases`` is 1, so ``sum(samples_max_mm) / sum(n_cases)`` is the mean over days of the day's
    largest value over every member and pixel (``truth_max_mm``: the truth's); ``diversity_sum_mm`` sums
    each pixel's across-member standard deviation (ddof 1; 0 for one member), so over ``n_pixels`` it
    is :func:`score_samples`'s ``diversity_mm`` on those days.
    """
    cfg = build_block(ScoringSettings, settings, ScoringSettings.WHERE)
    header = read_header(samples_path)
    fair = cfg.fair_crps and header.k >= 2
    columns: dict[str, list[np.ndarray]] = {
        key: [] for key in ("crps_sum_mm", "n_pixels", "abs_error_sum_mm", "samples_max_mm", "truth_max_mm")
    }
    columns["diversity_sum_mm"] = []
    for truth_batch, samples_batch in iter_batches(samples_path, cfg.batch_size):
        y = _dry(truth_batch, cfg.dry_threshold_mm)
        x = _dry(samples_batch, cfg.dry_threshold_mm)
        columns["crps_sum_mm"].append(pooled_crps(y, x, 1, fair=fair).sum(axis=(1, 2), dtype=np.float64))
        columns["n_pixels"].append(np.full(len(y), y[0].size, dtype=np.int64))
        columns["abs_error_sum_mm"].append(np.abs(x.mean(axis=1) - y).sum(axis=(1, 2), dtype=np.float64))
        columns["samples_max_mm"].append(x.max(axis=(1, 2, 3)))
        columns["truth_max_mm"].append(y.max(axis=(1, 2)))
        spread = x.std(axis=1, ddof=1) if header.k >= 2 else np.zeros_like(y)
        columns["diversity_sum_mm"].append(spread.sum(axis=(1, 2), dtype=np.float64))
    frame = pd.DataFrame({key: np.concatenate(parts) for key, parts in columns.items()})
    frame.insert(0, "unit", [day_label(t) for t in read_times(samples_path)])
    frame.insert(4, "n_cases", 1)
    return frame


def _ensemble_scores(ranks: RankHistogramAccumulator | None, spread: SpreadSkillAccumulator | None) -> dict:
    if ranks is None or spread is None:
        names = ("rank_histogram", "rank_outlier_fraction", "rank_expected_outlier_fraction", "rank_reliability_index")
        return {**dict.fromkeys(names), "spread_mm": None, "ensemble_mean_rmse_mm": None, "spread_skill_ratio": None}
    summary = rank_histogram_summary(ranks.counts)
    return {
        "rank_histogram": ranks.counts,
        "rank_outlier_fraction": summary.outlier_fraction,
        "rank_expected_outlier_fraction": summary.expected_outlier_fraction,
        "rank_reliability_index": summary.reliability_index,
        "spread_mm": spread.spread(),
        "ensemble_mean_rmse_mm": spread.skill(),
        "spread_skill_ratio": spread.ratio(),
    }


def _fss_scores(
    prefix: str,
    accumulator: FSSAccumulator | None,
    keys: Sequence[str],
    thresholds: Mapping[str, float],
    windows: Sequence[int],
) -> dict[str, Any]:
    scores = accumulator.fss() if accumulator is not None else np.full((len(keys), len(windows)), np.nan)
    out = {}
    for i, key in enumerate(keys):
        for j, window in enumerate(windows):
            defined = thresholds[key] > 0
            out[f"{prefix}_{key}_w{window}"] = float(scores[i, j]) if defined else None
    return out
