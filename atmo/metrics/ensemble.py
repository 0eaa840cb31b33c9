"""Scores of probabilistic downscaling: an ensemble of K sampled high-resolution fields per test case.

A conditional generator (here a VAE decoder fed different latents) is judged on the whole
distribution it samples, not on one field, following Leinonen et al. (2021), Harris et al. (2022) and
CorrDiff (Mardani et al. 2023). Shapes throughout: ``truth (N, H, W)`` and ``ensemble (N, K, H, W)``
(N cases, K members), values in mm (precipitation, >= 0). Everything is computed in float64.

Scores defined here (each docstring gives the formula):

- :func:`crps_ensemble` / :func:`pooled_crps`: per-pixel CRPS, standard (default) or fair estimator,
  of the fields or of their ``b x b`` block means; :class:`CRPSAccumulator` streams the means.
- :func:`rank_histogram` with random tie-breaking, :func:`rank_histogram_summary` (outlier fraction,
  reliability index); :class:`RankHistogramAccumulator`.
- :func:`spread_skill_ratio` with Fortin et al.'s (K+1)/K correction; :class:`SpreadSkillAccumulator`.
- :func:`intensity_bias` (mean, P95, P99, max of pooled members vs truth); :class:`IntensityAccumulator`
  streams them with histogram quantiles.
- :func:`diversity`: mean across-member standard deviation (mm, or relative); :class:`DiversityAccumulator`.
- :func:`fss` (fractions skill score) per member or on the exceedance probability; :class:`FSSAccumulator`
  for several thresholds and windows; :func:`percentile_thresholds` turns truth percentiles into mm.
- :func:`tail_mae`: MAE where the truth exceeds a threshold; :class:`TailMAEAccumulator`.

Scores that only exist for an ensemble (rank histogram, spread, diversity, the fair CRPS) raise
:class:`EnsembleSizeError` (a ``ValueError``) for K < 2, with a one-line message the workflow can
report as a config error. Means that pool cases are formed from float64 sums and counts, so streaming
over batches gives the same number as one call on the whole test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike
from scipy.ndimage import uniform_filter

EnsembleMode = Literal["members", "probability"]


class EnsembleSizeError(ValueError):
    """A score that needs at least ``minimum`` ensemble members got ``n_members``."""

    def __init__(self, score: str, n_members: int, minimum: int = 2) -> None:
        self.score = score
        self.n_members = n_members
        self.minimum = minimum
        super().__init__(
            f"{score} needs an ensemble of at least {minimum} members per case, got K={n_members}; "
            f"draw more samples per case"
        )


# ----------------------------------------------------------------------------------------------- input checks


def _as_truth(truth: ArrayLike) -> np.ndarray:
    """``truth`` as a finite float64 ``(N, H, W)`` array."""
    y = np.asarray(truth, dtype=np.float64)
    if y.ndim != 3:
        raise ValueError(f"truth must have shape (N, H, W), got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError("truth contains NaN or infinite values")
    return y


def _as_pair(truth: ArrayLike, ensemble: ArrayLike, score: str, min_members: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Check ``truth (N, H, W)`` against ``ensemble (N, K, H, W)``; both finite float64; K >= ``min_members``."""
    y = _as_truth(truth)
    x = np.asarray(ensemble, dtype=np.float64)
    if x.ndim != 4 or x.shape[0] != y.shape[0] or x.shape[2:] != y.shape[1:]:
        n, h, w = y.shape
        raise ValueError(f"ensemble must have shape (N, K, H, W) = ({n}, K, {h}, {w}) to match truth, got {x.shape}")
    if x.shape[1] < min_members:
        raise EnsembleSizeError(score, x.shape[1], min_members)
    if not np.isfinite(x).all():
        raise ValueError("ensemble contains NaN or infinite values")
    return y, x


def _as_forecast(truth: ArrayLike, forecast: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """A deterministic ``(N, H, W)`` forecast becomes a one-member ensemble ``(N, 1, H, W)``."""
    f = np.asarray(forecast)
    if f.ndim == 3:
        f = f[:, None]
    return _as_pair(truth, f, "forecast")


def _ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN (not inf, not 0) when the denominator is 0: the score is undefined."""
    return float(numerator / denominator) if denominator != 0 else float("nan")


def _member_variance(x: np.ndarray) -> np.ndarray:
    """Unbiased (ddof=1) variance across axis 1 of ``(N, K, H, W)``, exactly 0 where all members are equal.

    Deviations are taken after subtracting the first member (the variance does not change), so equal
    members give exact zeros instead of the rounding residue of their float mean.
    """
    return (x - x[:, :1]).var(axis=1, ddof=1)


def _fixed_members(current: int | None, new: int) -> int:
    """Accumulators whose score depends on K refuse a batch with a different K."""
    if current is not None and current != new:
        raise ValueError(f"every batch must have the same ensemble size; got K={new} after K={current}")
    return new


# ----------------------------------------------------------------------------------------------- CRPS


def crps_ensemble(truth: ArrayLike, ensemble: ArrayLike, fair: bool = False) -> np.ndarray:
    """Per-pixel CRPS of an ensemble, shape ``(N, H, W)`` from ``truth (N, H, W)`` and ``ensemble (N, K, H, W)``.

    The standard (``fair=False``) estimator is the CRPS of the ensemble's empirical CDF, the one
    ``properscoring.crps_ensemble`` computes (Gneiting & Raftery 2007):

        CRPS = E|X - y| - 1/2 E|X - X'| = 1/K sum_i |x_i - y| - 1/(2 K^2) sum_i sum_j |x_i - x_j|

    The double sum costs O(K^2); with the members sorted, ``x_(1) <= ... <= x_(K)``, it equals
    ``2 sum_i (2i - K - 1) x_(i)``, so the score costs O(K log K) per pixel:

        CRPS = 1/K sum_i |x_i - y| - 1/K^2 sum_i (2i - K - 1) x_(i)

    The fair estimator (``fair=True``, Ferro 2014) divides the spread term by ``K (K - 1)`` instead of
    ``K^2``; it is unbiased for the CRPS of the distribution the members are drawn from, so ensembles of
    different K compare fairly, and it needs K >= 2. With K = 1 the standard CRPS is the absolute error.
    Units are those of the input (mm); lower is better.
    """
    y, x = _as_pair(truth, ensemble, "the fair CRPS" if fair else "the CRPS", 2 if fair else 1)
    k = x.shape[1]
    skill = np.abs(x - y[:, None]).mean(axis=1)
    weights = 2.0 * np.arange(1, k + 1) - k - 1  # (2i - K - 1), i = 1..K
    spread = np.einsum("k,nkhw->nhw", weights, np.sort(x, axis=1))
    return skill - spread / (k * (k - 1) if fair else k * k)


def block_average(fields: ArrayLike, block: int) -> np.ndarray:
    """Mean over non-overlapping ``block x block`` tiles of the last two axes: ``(..., H, W) -> (..., H//b, W//b)``.

    Rows and columns past the last whole tile are dropped ("valid" average pooling, as in Harris et al.
    2022), so a 100-pixel side pooled by 16 keeps 96 pixels.
    """
    a = np.asarray(fields, dtype=np.float64)
    if isinstance(block, bool) or not isinstance(block, int | np.integer) or block < 1:
        raise ValueError(f"block must be a positive integer, got {block!r}")
    h, w = a.shape[-2:]
    if block > min(h, w):
        raise ValueError(f"block {block} is larger than the field ({h} x {w})")
    hb, wb = h // block, w // block
    a = a[..., : hb * block, : wb * block]
    return a.reshape(*a.shape[:-2], hb, block, wb, block).mean(axis=(-3, -1))


def pooled_crps(truth: ArrayLike, ensemble: ArrayLike, block: int, fair: bool = False) -> np.ndarray:
    """CRPS of block-averaged fields, shape ``(N, H//block, W//block)``.

    Truth and every member are averaged over ``block x block`` tiles (:func:`block_average`) before
    :func:`crps_ensemble`. A generator can score well per pixel by blurring, or badly by placing a
    correct storm a few pixels off; pooling over 4 and 16 pixels (Harris et al. 2022) scores the
    distribution of area means, which is what the coarse input constrains. ``block=1`` is the per-pixel CRPS.
    """
    y, x = _as_pair(truth, ensemble, "the pooled CRPS")
    return crps_ensemble(block_average(y, block), block_average(x, block), fair=fair)


class CRPSAccumulator:
    """Mean CRPS over all pixels and cases, per pooling block, streamed over batches.

    ``blocks=(1, 4, 16)`` gives the per-pixel CRPS and the pooled CRPS at 4 and 16 pixels; each mean is
    a float64 sum over every (pooled) pixel divided by their count.
    """

    def __init__(self, blocks: Sequence[int] = (1,), fair: bool = False) -> None:
        self.blocks = tuple(int(b) for b in blocks)
        if not self.blocks or min(self.blocks) < 1:
            raise ValueError(f"blocks must be a non-empty list of positive integers, got {blocks!r}")
        self.fair = fair
        self.total = np.zeros(len(self.blocks), dtype=np.float64)
        self.count = np.zeros(len(self.blocks), dtype=np.int64)

    def update(self, truth: ArrayLike, ensemble: ArrayLike) -> None:
        """Add a batch: ``truth (N, H, W)``, ``ensemble (N, K, H, W)``."""
        y, x = _as_pair(truth, ensemble, "the CRPS")
        for i, block in enumerate(self.blocks):
            scores = pooled_crps(y, x, block, fair=self.fair)
            self.total[i] += scores.sum(dtype=np.float64)
            self.count[i] += scores.size

    def crps(self) -> dict[int, float]:
        """Mean CRPS per block size (1 = per pixel); NaN before any update."""
        return {b: _ratio(t, c) for b, t, c in zip(self.blocks, self.total, self.count, strict=True)}


# ----------------------------------------------------------------------------------------------- rank histogram


def rank_histogram(truth: ArrayLike, ensemble: ArrayLike, rng: np.random.Generator | int) -> np.ndarray:
    """Counts of the truth's rank among the K members, shape ``(K + 1,)``, over all pixels and cases.

    The rank of ``y`` is ``#{i: x_i < y} + U``, ``U`` drawn uniformly from ``0..#{i: x_i == y}``: a value
    tied with members is placed at random among them (Hamill 2001). Without this, the many dry pixels
    where truth and all members are exactly 0 would all land in bin 0 and fake a wet bias. Ties are exact
    equality, so decoder outputs that are not exactly 0 when dry should be thresholded first (e.g. set
    values below 0.1 mm to 0 in truth and members). For a calibrated ensemble (truth exchangeable with
    the members) the histogram is flat; a U shape means under-dispersion, a dome over-dispersion, a
    slope a bias. ``rng`` (a Generator or a seed) makes the tie-breaking reproducible. Needs K >= 2.
    """
    y, x = _as_pair(truth, ensemble, "the rank histogram", 2)
    gen = np.random.default_rng(rng)
    below = np.count_nonzero(x < y[:, None], axis=1)
    tied = np.count_nonzero(x == y[:, None], axis=1)
    ranks = below + gen.integers(0, tied + 1)  # upper bound exclusive: 0..tied
    return np.bincount(ranks.ravel(), minlength=x.shape[1] + 1).astype(np.int64)


@dataclass(frozen=True)
class RankHistogramSummary:
    """One-number summaries of a rank histogram of ``n_members`` members over ``n`` truth values.

    ``outlier_fraction`` is the fraction of truths below all or above all members (ranks 0 and K);
    ``expected_outlier_fraction = 2 / (K + 1)`` is its value for a calibrated ensemble, so a ratio above
    1 means the truth falls outside the ensemble too often (under-dispersion). ``reliability_index`` is
    Delle Monache et al.'s (2006) ``RI = sum_i |c_i / n - 1 / (K + 1)|`` over the K + 1 bins: 0 for a flat
    histogram, at most ``2 K / (K + 1)``, and comparable between ensembles of different K.
    """

    n_members: int
    n: int
    outlier_fraction: float
    expected_outlier_fraction: float
    reliability_index: float


def rank_histogram_summary(counts: ArrayLike) -> RankHistogramSummary:
    """Summaries of rank-histogram ``counts`` of shape ``(K + 1,)`` (see :class:`RankHistogramSummary`)."""
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim != 1 or c.size < 3:
        raise EnsembleSizeError("the rank histogram summary", max(c.size - 1, 0))
    if (c < 0).any():
        raise ValueError("rank histogram counts must be non-negative")
    k = c.size - 1
    n = c.sum()
    if n == 0:
        nan = float("nan")
        return RankHistogramSummary(k, 0, nan, 2.0 / (k + 1), nan)
    freq = c / n
    return RankHistogramSummary(
        n_members=k,
        n=int(n),
        outlier_fraction=float(freq[0] + freq[-1]),
        expected_outlier_fraction=2.0 / (k + 1),
        reliability_index=float(np.abs(freq - 1.0 / (k + 1)).sum()),
    )


class RankHistogramAccumulator:
    """Rank-histogram counts streamed over batches; one generator draws every batch's tie-breaks."""

    def __init__(self, rng: np.random.Generator | int) -> None:
        self.rng = np.random.default_rng(rng)
        self.n_members: int | None = None
        self.counts: np.ndarray | None = None

    def update(self, truth: ArrayLike, ensemble: ArrayLike) -> None:
        """Add a batch: ``truth (N, H, W)``, ``ensemble (N, K, H, W)`` with the same K every batch."""
        counts = rank_histogram(truth, ensemble, self.rng)
        self.n_members = _fixed_members(self.n_members, counts.size - 1)
        self.counts = counts if self.counts is None else self.counts + counts

    def summary(self) -> RankHistogramSummary:
        """:func:`rank_histogram_summary` of the counts so far."""
        if self.counts is None:
            raise ValueError("no batch has been added to the rank histogram")
        return rank_histogram_summary(self.counts)


# ----------------------------------------------------------------------------------------------- spread-skill


class SpreadSkillAccumulator:
    """Sums behind :func:`spread_skill_ratio`, streamed over batches (fixed K)."""

    def __init__(self) -> None:
        self.sum_variance = 0.0
        self.sum_squared_error = 0.0
        self.count = 0
        self.n_members: int | None = None

    def update(self, truth: ArrayLike, ensemble: ArrayLike) -> None:
        """Add a batch: ``truth (N, H, W)``, ``ensemble (N, K, H, W)`` with K >= 2, the same every batch."""
        y, x = _as_pair(truth, ensemble, "the spread-skill ratio", 2)
        self.n_members = _fixed_members(self.n_members, x.shape[1])
        self.sum_variance += float(_member_variance(x).sum())
        self.sum_squared_error += float(np.square(x.mean(axis=1) - y).sum())
        self.count += y.size

    def spread(self) -> float:
        """``sqrt(mean s^2)``: root mean unbiased ensemble variance (mm)."""
        return float(np.sqrt(_ratio(self.sum_variance, self.count)))

    def skill(self) -> float:
        """RMSE of the ensemble mean (mm)."""
        return float(np.sqrt(_ratio(self.sum_squared_error, self.count)))

    def ratio(self, corrected: bool = True) -> float:
        """Spread-skill ratio, by default with the (K+1)/K correction (see :func:`spread_skill_ratio`)."""
        if self.n_members is None:
            return float("nan")
        factor = (self.n_members + 1) / self.n_members if corrected else 1.0
        return _ratio(np.sqrt(factor * _ratio(self.sum_variance, self.count)), self.skill())


def spread_skill_ratio(truth: ArrayLike, ensemble: ArrayLike, corrected: bool = True) -> float:
    """Spread-skill ratio of ``ensemble (N, K, H, W)`` against ``truth (N, H, W)``, pooled over pixels and cases.

        s^2  = 1/(K-1) sum_k (x_k - xbar)^2                (unbiased, ddof=1, per pixel)
        SSR  = sqrt((K+1)/K * mean s^2) / sqrt(mean (xbar - y)^2)      (corrected=True, the default)
        SSR  = sqrt(mean s^2) / RMSE(xbar)                              (corrected=False)

    Means run over every pixel of every case. For a calibrated ensemble (truth exchangeable with the
    members) ``E (xbar - y)^2 = (K+1)/K E s^2``, because the mean of K members itself misses the
    distribution mean by ``s^2 / K`` (Fortin et al. 2014); the corrected ratio is therefore 1 at any K,
    while the uncorrected one is ``sqrt(K / (K+1))`` (0.82 at K=2). Below 1: under-dispersed
    (over-confident); above 1: over-dispersed. NaN when the ensemble mean is perfect. Needs K >= 2.
    """
    acc = SpreadSkillAccumulator()
    acc.update(truth, ensemble)
    return acc.ratio(corrected)


# ----------------------------------------------------------------------------------------------- intensity


@dataclass(frozen=True)
class IntensityBias:
    """One intensity statistic of the truth and of the pooled members.

    ``difference = forecast - truth`` (mm), ``ratio = forecast / truth`` (NaN when the truth's is 0).
    """

    truth: float
    forecast: float
    difference: float
    ratio: float


def _bias(truth: float, forecast: float) -> IntensityBias:
    return IntensityBias(float(truth), float(forecast), float(forecast - truth), _ratio(forecast, truth))


def _quantile_key(q: float) -> str:
    """``0.99 -> "p99"``, ``0.999 -> "p99.9"``."""
    return "p" + format(round(100 * q, 6), "g")


def _check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    qs = tuple(float(q) for q in quantiles)
    if not all(0.0 < q < 1.0 for q in qs):
        raise ValueError(f"quantiles must lie strictly between 0 and 1 (0.99, not 99), got {quantiles!r}")
    return qs


def intensity_bias(
    truth: ArrayLike, ensemble: ArrayLike, quantiles: Sequence[float] = (0.95, 0.99)
) -> dict[str, IntensityBias]:
    """Mean, quantiles (default P95, P99) and max of all member pixels pooled vs those of all truth pixels.

    Keys ``"mean"``, ``"p95"``, ``"p99"``, ``"max"`` (one ``"p<100 q>"`` per quantile). Quantiles use
    numpy's default linear interpolation over every pixel of every case (and, for the ensemble, every
    member). A generator that blurs extremes shows ``p99.ratio < 1`` even when its mean is unbiased; the
    P99 bias is the headline extreme-value score of the downscaling papers. Needs the whole test set in
    memory; :class:`IntensityAccumulator` streams it with histogram quantiles.
    """
    y, x = _as_pair(truth, ensemble, "the intensity bias")
    qs = _check_quantiles(quantiles)
    out = {"mean": _bias(y.mean(), x.mean())}
    ty, tx = np.quantile(y, qs), np.quantile(x, qs)
    out.update({_quantile_key(q): _bias(a, b) for q, a, b in zip(qs, ty, tx, strict=True)})
    out["max"] = _bias(y.max(), x.max())
    return out


class IntensityAccumulator:
    """:func:`intensity_bias` streamed over batches: exact mean and max, quantiles from fixed-width histograms.

    Values are counted in bins of ``bin_width`` mm over ``[lower, upper)``; a quantile is read by linear
    interpolation inside its bin, so it is within ``bin_width`` of the exact (pooled) quantile. Values
    outside the range are counted but a quantile that falls among them raises ``ValueError`` (widen the
    range). The defaults (0.01 mm bins up to 2000 mm) cost two 1.6 MB count arrays.
    """

    def __init__(
        self,
        quantiles: Sequence[float] = (0.95, 0.99),
        bin_width: float = 0.01,
        lower: float = 0.0,
        upper: float = 2000.0,
    ) -> None:
        self.quantiles = _check_quantiles(quantiles)
        if not (bin_width > 0 and upper > lower):
            raise ValueError(f"need bin_width > 0 and upper > lower, got {bin_width}, [{lower}, {upper})")
        self.bin_width = float(bin_width)
        self.lower = float(lower)
        self.n_bins = int(np.ceil((upper - lower) / bin_width))
        # index 0: below lower; 1..n_bins: the bins; n_bins + 1: at or above upper
        self.hist = {name: np.zeros(self.n_bins + 2, dtype=np.int64) for name in ("truth", "forecast")}
        self.total = {"truth": 0.0, "forecast": 0.0}
        self.maximum = {"truth": -np.inf, "forecast": -np.inf}

    def update(self, truth: ArrayLike, ensemble: ArrayLike) -> None:
        """Add a batch: ``truth (N, H, W)``, ``ensemble (N, K, H, W)``."""
        y, x = _as_pair(truth, ensemble, "the intensity bias")
        for name, values in (("truth", y), ("forecast", x)):
            index = np.floor((values.ravel() - self.lower) / self.bin_width)
            index = np.clip(index, -1, self.n_bins).astype(np.int64) + 1
            self.hist[name] += np.bincount(index, minlength=self.n_bins + 2)
            self.total[name] += float(values.sum())
            self.maximum[name] = max(self.maximum[name], float(values.max()))

    def _quantile(self, name: str, q: float) -> float:
        counts = self.hist[name]
        cum = np.cumsum(counts)
        rank = q * cum[-1]
        b = int(np.searchsorted(cum, rank, side="left"))  # first bin whose cumulative count reaches the rank
        if b == 0 or b == self.n_bins + 1:
            raise ValueError(
                f"the {_quantile_key(q)} of the {name} lies outside the histogram range "
                f"[{self.lower}, {self.lower + self.n_bins * self.bin_width}); widen it"
            )
        before = cum[b - 1]
        inside = (rank - before) / counts[b]
        return self.lower + (b - 1 + inside) * self.bin_width

    def result(self) -> dict[str, IntensityBias]:
        """Same keys as :func:`intensity_bias`; raises before any update."""
        n = {name: int(h.sum()) for name, h in self.hist.items()}
        if n["truth"] == 0:
            raise ValueError("no batch has been added to the intensity accumulator")
        out = {"mean": _bias(self.total["truth"] / n["truth"], self.total["forecast"] / n["forecast"])}
        for q in self.quantiles:
            out[_quantile_key(q)] = _bias(self._quantile("truth", q), self._quantile("forecast", q))
        out["max"] = _bias(self.maximum["truth"], self.maximum["forecast"])
        return out


# ----------------------------------------------------------------------------------------------- diversity


class DiversityAccumulator:
    """Sums behind :func:`diversity`, streamed over batches."""

    def __init__(self) -> None:
        self.sum_std = 0.0
        self.sum_mean = 0.0
        self.count = 0

    def update(self, ensemble: ArrayLike) -> None:
        """Add a batch ``ensemble (N, K, H, W)``, K >= 2."""
        x = np.asarray(ensemble, dtype=np.float64)
        if x.ndim != 4:
            raise ValueError(f"ensemble must have shape (N, K, H, W), got {x.shape}")
        if x.shape[1] < 2:
            raise EnsembleSizeError("the diversity", x.shape[1])
        if not np.isfinite(x).all():
            raise ValueError("ensemble contains NaN or infinite values")
        self.sum_std += float(np.sqrt(_member_variance(x)).sum())
        self.sum_mean += float(x.mean(axis=1).sum())
        self.count += x.shape[0] * x.shape[2] * x.shape[3]

    def diversity(self, relative: bool = False) -> float:
        """See :func:`diversity`; NaN before any update (and, relative, for an all-zero ensemble mean)."""
        return _ratio(self.sum_std, self.sum_mean if relative else self.count)


def diversity(ensemble: ArrayLike, relative: bool = False) -> float:
    """Sample diversity of ``ensemble (N, K, H, W)``: how much the K samples of one case differ.

        s_nhw = sqrt( 1/(K-1) sum_k (x_nkhw - xbar_nhw)^2 )        (across-sample std, ddof=1)
        D     = 1/(N H W) sum_nhw s_nhw                            (relative=False, in mm)
        D_rel = sum_nhw s_nhw / sum_nhw xbar_nhw                   (relative=True, dimensionless)

    ``D`` is the mean across-sample standard deviation in mm; ``D_rel`` divides it by the mean of the
    ensemble mean (a pooled coefficient of variation: a ratio of means, not a mean of per-pixel ratios,
    which dry pixels would make infinite). A value near 0 means every latent decodes to the same field:
    the decoder ignores its latent (posterior collapse) and the "ensemble" is one deterministic forecast.
    Diversity alone is not skill (noise is diverse); read it with the spread-skill ratio. Needs K >= 2.
    """
    acc = DiversityAccumulator()
    acc.update(ensemble)
    return acc.diversity(relative)


# ----------------------------------------------------------------------------------------------- FSS


def percentile_thresholds(truth: ArrayLike, percentiles: Sequence[float] = (95.0, 99.0)) -> np.ndarray:
    """Truth percentiles (0..100, over all pixels and cases) as mm thresholds for :func:`fss` and :func:`tail_mae`.

    Extremes are relative to each data set's climate, so thresholds such as "the truth's P99" transfer
    between regions where fixed mm values do not. For streaming, compute them once (e.g. on the test
    truth, which fits in memory without the ensemble) and pass them to the accumulators.
    """
    y = _as_truth(truth)
    p = np.asarray(percentiles, dtype=np.float64)
    if p.ndim != 1 or not ((p >= 0) & (p <= 100)).all():
        raise ValueError(f"percentiles must be a list of numbers in 0..100, got {percentiles!r}")
    return np.percentile(y, p)


class FSSAccumulator:
    """Fractions skill score for every ``(threshold, window)`` pair, streamed over batches.

    A pixel is an event when its value is ``>= threshold`` (mm; pysteps' convention). Fractions are the
    mean of the event indicator over a ``window x window`` neighbourhood, ``scipy.ndimage.uniform_filter``
    with ``mode="constant"`` (zeros outside the domain), and are pooled over every pixel and case
    (Roberts & Lean 2008):

        FSS = 1 - sum (P_f - P_o)^2 / (sum P_f^2 + sum P_o^2)

    For an ensemble, ``mode="members"`` (default) computes the pooled FSS of each member and averages
    over members (the expected FSS of one sample, the per-sample skill); ``mode="probability"`` uses as
    ``P_f`` the neighbourhood mean of the ensemble exceedance probability ``1/K sum_k 1[x_k >= t]``
    (the ensemble FSS of Schwartz et al. 2010), which rewards spread that covers the event. They agree
    for K = 1 and a deterministic ``(N, H, W)`` forecast. NaN where neither truth nor forecast has any
    event (undefined, never 0); in members mode undefined members are left out of the mean.
    """

    def __init__(self, thresholds: Sequence[float], windows: Sequence[int], mode: EnsembleMode = "members") -> None:
        self.thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
        self.windows = tuple(int(w) for w in np.atleast_1d(windows))
        if self.thresholds.ndim != 1 or self.thresholds.size == 0 or not np.isfinite(self.thresholds).all():
            raise ValueError(f"thresholds must be a non-empty list of finite numbers, got {thresholds!r}")
        if not self.windows or min(self.windows) < 1:
            raise ValueError(f"windows must be a non-empty list of positive integers (pixels), got {windows!r}")
        if mode not in ("members", "probability"):
            raise ValueError(f"mode must be 'members' or 'probability', got {mode!r}")
        self.mode = mode
        self.n_members: int | None = None
        self.sum_fct_sq: np.ndarray | None = None  # (G, T, W): G = K members, or 1 in probability mode
        self.sum_obs_sq: np.ndarray | None = None
        self.sum_fct_obs: np.ndarray | None = None

    def update(self, truth: ArrayLike, forecast: ArrayLike) -> None:
        """Add a batch: ``truth (N, H, W)``, ``forecast (N, H, W)`` or an ensemble ``(N, K, H, W)``."""
        y, x = _as_forecast(truth, forecast)
        self.n_members = _fixed_members(self.n_members, x.shape[1])
        groups = x.shape[1] if self.mode == "members" else 1
        shape = (groups, self.thresholds.size, len(self.windows))
        if self.sum_fct_sq is None:
            self.sum_fct_sq, self.sum_obs_sq, self.sum_fct_obs = (np.zeros(shape) for _ in range(3))
        for t, threshold in enumerate(self.thresholds):
            obs = (y >= threshold).astype(np.float64)[:, None]  # (N, 1, H, W)
            fct = (x >= threshold).astype(np.float64)
            if self.mode == "probability":
                fct = fct.mean(axis=1, keepdims=True)
            for w, window in enumerate(self.windows):
                size = (1, 1, window, window)  # filter the two spatial axes only
                p_o = uniform_filter(obs, size=size, mode="constant", cval=0.0)
                p_f = uniform_filter(fct, size=size, mode="constant", cval=0.0)
                self.sum_fct_sq[:, t, w] += np.square(p_f).sum(axis=(0, 2, 3))
                self.sum_obs_sq[:, t, w] += np.square(p_o).sum()
                self.sum_fct_obs[:, t, w] += (p_f * p_o).sum(axis=(0, 2, 3))

    def fss(self) -> np.ndarray:
        """FSS per ``(threshold, window)``, shape ``(n_thresholds, n_windows)``; NaN where undefined."""
        if self.sum_fct_sq is None:
            return np.full((self.thresholds.size, len(self.windows)), np.nan)
        denominator = self.sum_fct_sq + self.sum_obs_sq
        numerator = denominator - 2.0 * self.sum_fct_obs  # sum (P_f - P_o)^2
        per_group = np.full(denominator.shape, np.nan)
        np.divide(numerator, denominator, out=per_group, where=denominator > 0)
        per_group = 1.0 - per_group
        defined = np.isfinite(per_group)
        n_defined = defined.sum(axis=0)
        total = np.where(defined, per_group, 0.0).sum(axis=0)
        out = np.full(n_defined.shape, np.nan)
        np.divide(total, n_defined, out=out, where=n_defined > 0)
        return out


def fss(truth: ArrayLike, forecast: ArrayLike, threshold: float, window: int, mode: EnsembleMode = "members") -> float:
    """Fractions skill score of one threshold (mm, event ``>=``) and one ``window`` (pixels).

    ``truth (N, H, W)``; ``forecast (N, H, W)`` or ensemble ``(N, K, H, W)``; sums pooled over all cases.
    See :class:`FSSAccumulator` for the formula and the two ensemble modes, and for several thresholds and
    windows at once (use :func:`percentile_thresholds` for extreme thresholds relative to the truth).
    """
    acc = FSSAccumulator([threshold], [window], mode)
    acc.update(truth, forecast)
    return float(acc.fss()[0, 0])


# ----------------------------------------------------------------------------------------------- tail MAE


class TailMAEAccumulator:
    """:func:`tail_mae` for several thresholds, streamed over batches (thresholds fixed in advance)."""

    def __init__(self, thresholds: Sequence[float]) -> None:
        self.thresholds = np.atleast_1d(np.asarray(thresholds, dtype=np.float64))
        if self.thresholds.ndim != 1 or self.thresholds.size == 0 or not np.isfinite(self.thresholds).all():
            raise ValueError(f"thresholds must be a non-empty list of finite numbers, got {thresholds!r}")
        self.total = np.zeros(self.thresholds.size, dtype=np.float64)
        self.count = np.zeros(self.thresholds.size, dtype=np.int64)

    def update(self, truth: ArrayLike, prediction: ArrayLike) -> None:
        """Add a batch: ``truth (N, H, W)``, ``prediction (N, H, W)`` or an ensemble ``(N, K, H, W)``."""
        y, x = _as_forecast(truth, prediction)
        error = np.abs(x - y[:, None])  # (N, K, H, W)
        for t, threshold in enumerate(self.thresholds):
            tail = (y > threshold)[:, None]  # (N, 1, H, W), the same pixels for every member
            self.total[t] += float(np.where(tail, error, 0.0).sum())
            self.count[t] += int(tail.sum()) * x.shape[1]

    def mae(self) -> np.ndarray:
        """MAE per threshold, shape ``(n_thresholds,)``; NaN where no truth pixel exceeded it."""
        out = np.full(self.total.shape, np.nan)
        np.divide(self.total, self.count, out=out, where=self.count > 0)
        return out


def tail_mae(truth: ArrayLike, prediction: ArrayLike, threshold: float) -> float:
    """MAE over the pixels where the truth exceeds ``threshold`` (strictly, ``y > threshold``), in mm.

        tail MAE = sum_{y > t} |p - y| / #{y > t}

    ``prediction`` is ``(N, H, W)`` (e.g. the ensemble mean) or an ensemble ``(N, K, H, W)``, in which
    case every member's error counts (the mean over members of each member's tail MAE). The overall MAE
    is dominated by dry and light-rain pixels; this one asks how far off the heavy rain is. Strict ``>``
    so that a percentile threshold of 0 (P95 of a mostly dry set) selects wet pixels, not all of them.
    NaN when no truth pixel exceeds the threshold. Thresholds: :func:`percentile_thresholds`.
    """
    acc = TailMAEAccumulator([threshold])
    acc.update(truth, prediction)
    return float(acc.mae()[0])
