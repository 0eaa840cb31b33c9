"""Metrics shared by the experiments, as pure functions and streaming accumulators.

- :mod:`atmo.metrics.contingency`: hits/misses/false alarms per threshold and lead; POD, FAR, CSI,
  bias, CSI-M with SEVIR's ``>=`` convention.
- :mod:`atmo.metrics.regression`: streaming MSE/MAE, pooled or per lead time.
- :mod:`atmo.metrics.dry`: the mean forecast over pixels whose truth is 0 (a haze no CSI sees).
- :mod:`atmo.metrics.ensemble`: scores of sampled (probabilistic) downscaling ensembles: CRPS (per pixel
  and pooled), rank histogram, spread-skill ratio, intensity (P99) bias, sample diversity, fractions
  skill score, tail MAE.
- :mod:`atmo.metrics.spectra`: radially averaged power spectral density and the log-spectral distance.
- :mod:`atmo.metrics.lpips_offline`: LPIPS v0.1 (AlexNet) from locally shipped weights (imports torch,
  so it is not re-exported here).
"""

from atmo.metrics.contingency import SEVIR_THRESHOLDS, ContingencyAccumulator
from atmo.metrics.dry import DryMeanAccumulator
from atmo.metrics.ensemble import (
    CRPSAccumulator,
    DiversityAccumulator,
    EnsembleSizeError,
    FSSAccumulator,
    IntensityAccumulator,
    IntensityBias,
    RankHistogramAccumulator,
    RankHistogramSummary,
    SpreadSkillAccumulator,
    TailMAEAccumulator,
    block_average,
    crps_ensemble,
    diversity,
    fss,
    intensity_bias,
    percentile_thresholds,
    pooled_crps,
    rank_histogram,
    rank_histogram_summary,
    spread_skill_ratio,
    tail_mae,
)
from atmo.metrics.regression import ErrorAccumulator, mae, mse
from atmo.metrics.spectra import RAPSDAccumulator, log_spectral_distance, rapsd

__all__ = [
    "SEVIR_THRESHOLDS",
    "CRPSAccumulator",
    "ContingencyAccumulator",
    "DiversityAccumulator",
    "DryMeanAccumulator",
    "EnsembleSizeError",
    "ErrorAccumulator",
    "FSSAccumulator",
    "IntensityAccumulator",
    "IntensityBias",
    "RAPSDAccumulator",
    "RankHistogramAccumulator",
    "RankHistogramSummary",
    "SpreadSkillAccumulator",
    "TailMAEAccumulator",
    "block_average",
    "crps_ensemble",
    "diversity",
    "fss",
    "intensity_bias",
    "log_spectral_distance",
    "mae",
    "mse",
    "percentile_thresholds",
    "pooled_crps",
    "rank_histogram",
    "rank_histogram_summary",
    "rapsd",
    "spread_skill_ratio",
    "tail_mae",
]
