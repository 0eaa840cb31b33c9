"""Metrics shared by the experiments, as pure functions and streaming accumulators.

- :mod:`atmo.metrics.contingency`: hits/misses/false alarms per threshold and lead; POD, FAR, CSI,
  bias, CSI-M with SEVIR's ``>=`` convention.
- :mod:`atmo.metrics.regression`: streaming MSE/MAE, pooled or per lead time.
- :mod:`atmo.metrics.lpips_offline`: LPIPS v0.1 (AlexNet) from locally shipped weights (imports torch,
  so it is not re-exported here).
"""

from atmo.metrics.contingency import SEVIR_THRESHOLDS, ContingencyAccumulator
from atmo.metrics.regression import ErrorAccumulator, mae, mse

__all__ = ["SEVIR_THRESHOLDS", "ContingencyAccumulator", "ErrorAccumulator", "mae", "mse"]
