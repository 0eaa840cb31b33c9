"""Cost of one paired comparison at each experiment's scale.

Run: ``pytest tests/benchmarks/test_bootstrap_speed.py --benchmark-only -s``.

Every experiment names a handful to a dozen comparisons and the issue's target is a few seconds
per experiment at 1000 replicates, so one comparison should take well under a second. The cases
are the default config's shapes, times four for headroom:

* nowcast: 48 test events (units), CSI counts of 6 thresholds, 3 seeds against 1;
* cbh: 5 flights of 1000 samples each, resampled within the flight, 3 seeds against 1;
* riskseg: 52 test blocks, 3 x 3 confusion matrices, 3 seeds against 3;
* downscale: 220 test days in moving blocks of 5, CRPS sums, 3 seeds against 1.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from atmo.metrics.paired import BootstrapSettings, Resampling, paired_difference
from atmo.metrics.pooled import PooledMetric, cohen_kappa, confusion_statistics, mean_csi, ratio

TARGET_S = 1.0
THRESHOLDS = [16, 74, 133, 160, 181, 219]


def _frame(units: list[str], columns: tuple[str, ...], rng: np.random.Generator, items: int = 0) -> pd.DataFrame:
    rows = len(units)
    frame = pd.DataFrame({"unit": units, **{c: rng.integers(1, 500, rows).astype(float) for c in columns}})
    if items:
        frame.insert(1, "item", [str(i) for i in range(rows)])
    return frame


def _case(
    name: str, rng: np.random.Generator
) -> tuple[PooledMetric, Resampling, list[pd.DataFrame], list[pd.DataFrame]]:
    settings = BootstrapSettings(n_boot=1000, block_length=5)
    if name == "nowcast":
        metric, units, scheme, seeds_b = mean_csi(THRESHOLDS), [f"e{i}" for i in range(48)], "units", 1
    elif name == "cbh":
        metric = ratio("mae_km", "MAE", "abs_error_km", "n", higher_is_better=False, pooling="unit_mean")
        units, scheme, seeds_b = [f"f{i // 1000}" for i in range(5000)], "units_and_items", 1
    elif name == "riskseg":
        metric, units, scheme, seeds_b = cohen_kappa(3), [f"b{i}" for i in range(52)], "units", 3
    else:
        metric = ratio("crps_mm", "CRPS", "crps_sum_mm", "n_pixels", higher_is_better=False)
        units, scheme, seeds_b = [f"d{i:03d}" for i in range(220)], "moving_block", 1
    columns = confusion_statistics(3) if name == "riskseg" else metric.statistics
    items = int(scheme == "units_and_items")
    a = [_frame(units, columns, rng, items) for _ in range(3)]
    b = [_frame(units, columns, rng, items) for _ in range(seeds_b)]
    return metric, Resampling(scheme, settings), a, b  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["nowcast", "cbh", "riskseg", "downscale"])
def test_one_comparison_at_1000_replicates(benchmark, name: str) -> None:
    metric, resampling, a, b = _case(name, np.random.default_rng(0))
    result = benchmark.pedantic(
        paired_difference, args=(("a", a), ("b", b), metric, resampling), rounds=3, iterations=1
    )
    benchmark.extra_info.update(n_units=result.n_units, n_boot=result.n_boot, seconds=benchmark.stats.stats.mean)
    assert result.n_boot == 1000
    assert benchmark.stats.stats.mean < TARGET_S, f"{name}: {benchmark.stats.stats.mean:.2f} s per comparison"
