"""Paired bootstrap of a difference between two entries, over units and then seeds: the one scheme.

This docstring is the place the scheme is documented; the README points here.

**What varies.** A test score moves with *which* test units happened to be drawn (events, flights,
blocks, days) and with the *training seed*. Both are resampled:

1. **Units.** Replicate ``r`` draws the experiment's ``U`` units with replacement; unit ``u`` enters
   ``c_ru`` times (``sum_u c_ru = U``). Three plans, chosen by each experiment for its units:

   - ``units``: i.i.d. draws of whole units (storm episodes, spatial blocks);
   - ``units_and_items``: as ``units``, then the items of every drawn copy of a unit are drawn again
     within that unit (flights, then the samples of each flight). ``c`` copies of a unit with
     ``n`` items give ``multinomial(c * n, 1/n)`` item counts;
   - ``moving_block``: the circular moving-block bootstrap of a time series of units (Politis and
     Romano 1992): blocks of ``block_length`` consecutive units, starting anywhere on the circle,
     concatenated and cut at ``U`` (days: neighbouring days share weather).

   The *same* unit draws serve both entries of a comparison: the difference is paired.
2. **Metric of a resample.** Every entry's per-unit statistics are summed with those weights and
   the metric is re-formed from the sums (:class:`~atmo.metrics.pooled.PooledMetric`), so a CSI of
   a resample is the CSI of its summed counts, never an average of per-unit CSIs.
3. **Seeds.** An entry trained with ``S`` seeds has one metric per seed and replicate. Replicate
   ``r`` draws ``S`` of its seeds with replacement (independently for each entry: seeds of two
   models are not paired) and averages their metrics. A seedless entry (a baseline) has one.
4. **Interval and verdict.** The difference ``a - b`` of every replicate gives the percentile
   interval at ``level`` (95 %). The point estimate is the difference of seed-mean metrics on the
   original units. The verdict is ``beats`` when the interval excludes 0 in ``a``'s favour (above 0
   for a higher-is-better metric, below for a lower-is-better one), ``loses`` when it excludes 0
   against it, and ``does not separate`` otherwise.

Replicates in which either metric is undefined (NaN: no threshold reached, a class never predicted)
are dropped; the number kept is reported. Deterministic for a given ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from atmo.metrics.pooled import PooledMetric
from atmo.metrics.unit_stats import ITEM, UNIT
from atmo.settings import settings_block

Scheme = Literal["units", "units_and_items", "moving_block"]
SCHEMES: tuple[str, ...] = ("units", "units_and_items", "moving_block")

BEATS = "beats"
LOSES = "loses"
NO_SEPARATION = "does not separate"


class BootstrapSettings(settings_block("metrics/bootstrap")):
    """A module's ``bootstrap`` config block (``atmo/metrics/bootstrap.schema.yaml``)."""


@dataclass(frozen=True)
class Resampling:
    """How an experiment's units are resampled (its own choice) with the bootstrap settings (the config's)."""

    scheme: Scheme = "units"
    settings: BootstrapSettings = field(default_factory=BootstrapSettings)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")

    @property
    def n_boot(self) -> int:
        return self.settings.n_boot

    @property
    def level(self) -> float:
        return self.settings.level

    @property
    def seed(self) -> int:
        return self.settings.seed

    @property
    def block_length(self) -> int:
        return self.settings.block_length

    def describe(self, unit_name: str) -> str:
        """One line for tables: what was resampled, how often, at which level."""
        how = {
            "units": f"{unit_name} resampled with replacement",
            "units_and_items": f"{unit_name} resampled with replacement, then the items within each",
            "moving_block": f"{unit_name} resampled in circular moving blocks of {self.block_length}",
        }[self.scheme]
        return (
            f"paired bootstrap, {self.n_boot} replicates: {how}, then each entry's seeds; "
            f"{self.level:.0%} percentile interval"
        )


@dataclass(frozen=True)
class UnitLayout:
    """The units of a comparison: each row's unit index, the unit labels and each unit's item count."""

    row_unit: np.ndarray  # (N,) index into labels, one per row (item or unit)
    labels: tuple[str, ...]
    items_per_unit: np.ndarray  # (U,)

    @classmethod
    def of(cls, frame: pd.DataFrame) -> UnitLayout:
        """The layout of a unit table (units in order of first appearance: time order for days)."""
        labels = tuple(dict.fromkeys(frame[UNIT].astype(str)))
        index = {label: i for i, label in enumerate(labels)}
        row_unit = frame[UNIT].astype(str).map(index).to_numpy()
        return cls(row_unit, labels, np.bincount(row_unit, minlength=len(labels)))

    @property
    def n_units(self) -> int:
        return len(self.labels)


def unit_draws(layout: UnitLayout, resampling: Resampling, rng: np.random.Generator) -> np.ndarray:
    """``(R, U)`` copies of every unit in each replicate (each row sums to ``U``)."""
    n_units, n_boot = layout.n_units, resampling.n_boot
    if resampling.scheme == "moving_block":
        length = min(resampling.block_length, n_units)
        n_blocks = -(-n_units // length)
        starts = rng.integers(0, n_units, size=(n_boot, n_blocks))
        drawn = ((starts[:, :, None] + np.arange(length)) % n_units).reshape(n_boot, -1)[:, :n_units]
    else:
        drawn = rng.integers(0, n_units, size=(n_boot, n_units))
    counts = np.zeros((n_boot, n_units), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n_boot), drawn.shape[1]), drawn.ravel()), 1)
    return counts


def row_weights(layout: UnitLayout, copies: np.ndarray, resampling: Resampling, rng: np.random.Generator) -> np.ndarray:
    """``(R, N)`` weight of every row (item or unit) in each replicate, from the unit copies ``(R, U)``."""
    if resampling.scheme != "units_and_items":
        return copies[:, layout.row_unit].astype(np.float64)
    weights = np.zeros((copies.shape[0], layout.row_unit.size))
    for u, n_items in enumerate(layout.items_per_unit):
        rows = np.flatnonzero(layout.row_unit == u)
        weights[:, rows] = rng.multinomial(copies[:, u] * n_items, np.full(n_items, 1.0 / n_items))
    return weights


def resampled_metric(metric: PooledMetric, stats: np.ndarray, layout: UnitLayout, weights: np.ndarray) -> np.ndarray:
    """The metric of every seed and replicate: ``stats`` ``(S, N, K)``, ``weights`` ``(R, N)`` -> ``(S, R)``.

    Rows are summed into their units with the replicate's weights, then the metric is re-formed
    from the sums (``of_units``); the unit copies are the weights summed per unit over items.
    """
    n_units = layout.n_units
    one_hot = np.zeros((layout.row_unit.size, n_units))
    one_hot[np.arange(layout.row_unit.size), layout.row_unit] = 1.0
    unit_sums = np.einsum("rn,nu,snk->sruk", weights, one_hot, stats, optimize=True)
    copies = (weights @ one_hot) / np.maximum(layout.items_per_unit, 1)
    return metric.of_units(unit_sums, copies[None, :, :])


def seed_mean(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``(S, R)`` per-seed metrics -> ``(R,)``: each replicate averages ``S`` seeds drawn with replacement."""
    n_seeds, n_boot = values.shape
    if n_seeds == 1:
        return values[0]
    draws = rng.integers(0, n_seeds, size=(n_boot, n_seeds))
    return np.take_along_axis(values.T, draws, axis=1).mean(axis=1)


@dataclass(frozen=True)
class Difference:
    """``a - b`` on one metric: the estimate, its interval, what it rests on and the verdict word."""

    a: str
    b: str
    metric: str
    estimate: float
    low: float
    high: float
    n_units: int
    n_seeds_a: int
    n_seeds_b: int
    n_boot: int
    verdict: str


def verdict(low: float, high: float, higher_is_better: bool) -> str:
    """``beats`` / ``loses`` when the interval of ``a - b`` excludes 0 for / against ``a``; else ``does not separate``.

    An undefined bound (no replicate had both metrics defined) never separates.
    """
    if not (np.isfinite(low) and np.isfinite(high)):
        return NO_SEPARATION
    if low > 0.0:
        return BEATS if higher_is_better else LOSES
    if high < 0.0:
        return LOSES if higher_is_better else BEATS
    return NO_SEPARATION


def stack_seeds(tables: Sequence[pd.DataFrame], metric: PooledMetric, where: str) -> np.ndarray:
    """``(S, N, K)`` statistics of one entry's seed tables, which must list the same rows in the same order."""
    first = tables[0]
    keys = [UNIT, ITEM] if ITEM in first.columns else [UNIT]
    missing = [c for c in metric.statistics if c not in first.columns]
    if missing:
        raise ValueError(f"{where}: unit statistics lack the columns {missing} that {metric.name} needs")
    for table in tables[1:]:
        if not table[keys].astype(str).equals(first[keys].astype(str)):
            raise ValueError(f"{where}: its seeds' unit statistics list different units")
    return np.stack([t[list(metric.statistics)].to_numpy(dtype=np.float64) for t in tables])


def paired_difference(
    a: tuple[str, Sequence[pd.DataFrame]],
    b: tuple[str, Sequence[pd.DataFrame]],
    metric: PooledMetric,
    resampling: Resampling,
) -> Difference:
    """``a - b`` of ``metric`` with its paired percentile interval; see the module doc.

    ``a`` and ``b`` are ``(name, [unit table of each seed])``; every table lists the same units
    (and items) in the same order. ``ValueError`` when they do not.
    """
    (name_a, tables_a), (name_b, tables_b) = a, b
    stats_a = stack_seeds(tables_a, metric, name_a)
    stats_b = stack_seeds(tables_b, metric, name_b)
    keys = [UNIT, ITEM] if ITEM in tables_a[0].columns else [UNIT]
    if not tables_a[0][keys].astype(str).equals(tables_b[0][keys].astype(str)):
        raise ValueError(f"{name_a} and {name_b} were scored on different units: a paired comparison needs the same")
    layout = UnitLayout.of(tables_a[0])
    rng = np.random.default_rng(resampling.seed)
    copies = unit_draws(layout, resampling, rng)
    weights = row_weights(layout, copies, resampling, rng)
    original = np.ones((1, layout.row_unit.size))
    point_a = resampled_metric(metric, stats_a, layout, original)[:, 0]
    point_b = resampled_metric(metric, stats_b, layout, original)[:, 0]
    replicates = seed_mean(resampled_metric(metric, stats_a, layout, weights), rng) - seed_mean(
        resampled_metric(metric, stats_b, layout, weights), rng
    )
    kept = replicates[np.isfinite(replicates)]
    tail = (1.0 - resampling.level) / 2.0
    low, high = (float(q) for q in np.quantile(kept, [tail, 1.0 - tail])) if kept.size else (np.nan, np.nan)
    return Difference(
        a=name_a,
        b=name_b,
        metric=metric.name,
        estimate=float(np.nanmean(point_a) - np.nanmean(point_b)),
        low=low,
        high=high,
        n_units=layout.n_units,
        n_seeds_a=len(tables_a),
        n_seeds_b=len(tables_b),
        n_boot=int(kept.size),
        verdict=verdict(low, high, metric.higher_is_better),
    )


def seed_scores(tables: Sequence[pd.DataFrame], metric: PooledMetric) -> np.ndarray:
    """The metric of each seed on the original units, ``(S,)``."""
    stats = stack_seeds(tables, metric, "entry")
    layout = UnitLayout.of(tables[0])
    return resampled_metric(metric, stats, layout, np.ones((1, layout.row_unit.size)))[:, 0]
