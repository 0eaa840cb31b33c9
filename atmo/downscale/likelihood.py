"""What the cVAE decoder predicts per pixel: a zero-inflated distribution, or the write-up's deterministic field.

Daily precipitation is exactly 0 on most pixels and heavy-tailed where it rains, so the decoder does
not emit a field but the parameters of a per-pixel distribution, and a sample draws from it: the
ensemble spread then comes from the pixel noise as well as from z. The model's ``likelihood``
keyword (:mod:`atmo.downscale.models`) names one of three, each from three output channels
``(a, r, b)`` per pixel (one for the deterministic field)::

    p      = sigmoid(a)                       P(wet), wet meaning y > WET_MM
    mu     = exp(offset + r)                  E[y | wet] in mm (offset: see below); E[y] = p mu

``bernoulli_gamma`` (default): ``y | wet ~ Gamma(k, theta)``, ``k = SHAPE_MIN + softplus(b)``,
``theta = mu / k``; ``nll = -log(1 - p)`` if dry, else
``-log p - (k - 1) log y + y / theta + k log theta + lgamma(k)``.

``bernoulli_lognormal``: ``log y | wet ~ N(m, s^2)``, ``s = SIGMA_MIN + softplus(b)``,
``m = log(mu) - s^2 / 2``; ``nll = -log(1 - p)`` if dry, else
``-log p + log y + log s + log(2 pi) / 2 + (log y - m)^2 / (2 s^2)``.

Why gamma by default: a shape ``k < 1`` puts the many light amounts near 0 mm, where a log-normal
can only reach them with a wide ``s`` that then also widens its right tail. On the default config's
validation days (V2, seed 0, 20 epochs, residual mean) the two decoders' 4-member prior CRPS was
about equal (gamma 1.73 mm, log-normal 1.74), but the gamma's 20-member ensemble was better
calibrated (spread/skill 1.22 against 1.40) and its largest draw 207 mm against 386 (the truth's:
113). The log-normal stays selectable: its tail is heavier (the gamma's is exponential, the usual
reason Bernoulli-gamma downscalers underestimate extremes), and fields made by multiplicative
cascades have log-normal-like amounts. Either samples with the sampling job's seeded
``torch.Generator`` alone (:func:`standard_gamma`), so a samples file is reproducible.
``WET_MM = 0.1`` — the scores' default dry threshold — keeps amounts of a few hundredths of a mm,
far out in ``log y``, out of the amount distribution: they count as dry, as they do when scored.

The wet amount's mean ``mu`` is parameterised directly, so that it can be a residual: with a base
field (the mass-consistent bicubic interpolation of the coarse precipitation,
:func:`atmo.downscale.baselines.bicubic_mm`) ``offset + r`` is ``log(base_mm + BASE_FLOOR_MM) +
R tanh(r / R)``, ``R = RESIDUAL_RANGE``; without one it is ``r``. The model initialises ``r`` to 0, so
an untrained residual model's wet amounts have the bicubic field as their mean. Why ``mu`` and why
bounded: the NLL of a dry pixel does not involve ``mu``, so where training only ever saw dry pixels
nothing constrains it. Parameterising the unconditional mean ``p mu`` made ``mu = mean / p`` grow
as ``p`` fell to 1e-20, and a free ``mu`` still drifted to hundreds of mm over dry bicubic blocks;
either way rare wet draws there reached 1400-2000 mm, ten times the truth's maximum. Within a
factor 100 of ``base + 0.1 mm``, the mean wet amount over a dry block is at most 10 mm.

``deterministic`` (the write-up's decoder), one channel ``a``: the field is ``exp(offset + a)`` mm,
its samples are that field (spread from z alone) and ``nll(y) = |y - field|``, the negative
log-likelihood of a Laplace distribution of scale 1 mm without its constant ``log 2`` — so the
write-up's weighted MAE and the ELBO share one convention (:mod:`atmo.downscale.losses`).

Shapes: every parameter and every returned field is ``(B, H, W)``; amounts in mm, NLL in nats.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

#: Amounts above this are wet (mm); the scores' default dry threshold.
WET_MM = 0.1
#: Added to the base field before its log, so a dry base block still lets the mean grow (mm).
BASE_FLOOR_MM = 0.1
#: Largest log-ratio of a residual model's mean to its base field: a factor e^4.6 = 100 either way.
RESIDUAL_RANGE = math.log(100.0)
#: Smallest standard deviation of log y on wet pixels: keeps the NLL finite at a perfect fit.
SIGMA_MIN = 0.05
#: Smallest gamma shape: below it the draws underflow to 0 and the NLL's lgamma grows steeply.
SHAPE_MIN = 0.1
#: Largest mean, sample or field value (mm): guards exp against a hot pixel.
MAX_MM = 2000.0
_LOG_MAX_MM = math.log(MAX_MM)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _log_mean(r: torch.Tensor, base_mm: torch.Tensor | None) -> torch.Tensor:
    """``r`` without a base field; ``log(base + floor) + R tanh(r / R)`` with one (``R = RESIDUAL_RANGE``)."""
    if base_mm is None:
        return r.clamp(max=_LOG_MAX_MM)
    residual = RESIDUAL_RANGE * torch.tanh(r / RESIDUAL_RANGE)
    return torch.log(base_mm.float().clamp(min=0.0) + BASE_FLOOR_MM) + residual


@dataclass(frozen=True)
class BernoulliLogNormal:
    """Per-pixel ``P(wet) = exp(log_p)`` and ``log y | wet ~ N(loc, scale^2)`` (module docstring)."""

    log_p: torch.Tensor
    log_1mp: torch.Tensor
    loc: torch.Tensor
    scale: torch.Tensor

    CHANNELS = 3
    MEAN_CHANNEL = 1

    @classmethod
    def from_head(cls, head: torch.Tensor, base_mm: torch.Tensor | None = None) -> BernoulliLogNormal:
        """The distribution of the decoder's raw output ``head (B, 3, H, W)``."""
        a, r, b = head.float().unbind(dim=1)
        log_wet_mean = _log_mean(r, base_mm)
        scale = SIGMA_MIN + F.softplus(b)
        return cls(F.logsigmoid(a), F.logsigmoid(-a), log_wet_mean - 0.5 * scale.square(), scale)

    @property
    def wet_probability(self) -> torch.Tensor:
        return self.log_p.exp()

    @property
    def mean_mm(self) -> torch.Tensor:
        """``p exp(loc + scale^2 / 2)``: the wet probability times the wet amounts' mean."""
        return torch.exp((self.log_p + self.loc + 0.5 * self.scale.square()).clamp(max=_LOG_MAX_MM))

    def nll(self, y_mm: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``y_mm`` per pixel, nats (the module docstring's formula)."""
        y_mm = y_mm.float()
        wet = y_mm > WET_MM
        log_y = torch.log(torch.where(wet, y_mm, torch.ones_like(y_mm)))
        gaussian = torch.log(self.scale) + _HALF_LOG_2PI + (log_y - self.loc).square() / (2.0 * self.scale.square())
        return torch.where(wet, -self.log_p + log_y + gaussian, -self.log_1mp)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw per pixel, mm: a uniform decides wet, then ``exp(loc + scale * eps)``."""
        u = torch.rand(self.loc.shape, generator=generator, device=self.loc.device, dtype=self.loc.dtype)
        eps = torch.randn(self.loc.shape, generator=generator, device=self.loc.device, dtype=self.loc.dtype)
        amount = torch.exp((self.loc + self.scale * eps).clamp(max=_LOG_MAX_MM))
        return torch.where(u < self.wet_probability, amount, torch.zeros_like(amount))


@dataclass(frozen=True)
class BernoulliGamma:
    """Per-pixel ``P(wet) = exp(log_p)`` and ``y | wet ~ Gamma(shape, scale_mm)`` (module docstring)."""

    log_p: torch.Tensor
    log_1mp: torch.Tensor
    shape: torch.Tensor
    scale_mm: torch.Tensor

    CHANNELS = 3
    MEAN_CHANNEL = 1

    @classmethod
    def from_head(cls, head: torch.Tensor, base_mm: torch.Tensor | None = None) -> BernoulliGamma:
        """The distribution of the decoder's raw output ``head (B, 3, H, W)``."""
        a, r, b = head.float().unbind(dim=1)
        log_wet_mean = _log_mean(r, base_mm)
        shape = SHAPE_MIN + F.softplus(b)
        return cls(F.logsigmoid(a), F.logsigmoid(-a), shape, torch.exp(log_wet_mean) / shape)

    @property
    def wet_probability(self) -> torch.Tensor:
        return self.log_p.exp()

    @property
    def mean_mm(self) -> torch.Tensor:
        """``p k theta``: the wet probability times the wet amounts' mean."""
        return (self.log_p.exp() * self.shape * self.scale_mm).clamp(max=MAX_MM)

    def nll(self, y_mm: torch.Tensor) -> torch.Tensor:
        """Negative log-likelihood of ``y_mm`` per pixel, nats (the module docstring's formula)."""
        y_mm = y_mm.float()
        wet = y_mm > WET_MM
        y = torch.where(wet, y_mm, torch.ones_like(y_mm))
        log_density = (
            (self.shape - 1) * torch.log(y)
            - y / self.scale_mm
            - self.shape * torch.log(self.scale_mm)
            - torch.lgamma(self.shape)
        )
        return torch.where(wet, -self.log_p - log_density, -self.log_1mp)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw per pixel, mm: a uniform decides wet, then ``scale * Gamma(shape, 1)``."""
        u = torch.rand(self.shape.shape, generator=generator, device=self.shape.device, dtype=self.shape.dtype)
        amount = (standard_gamma(self.shape, generator) * self.scale_mm).clamp(max=MAX_MM)
        return torch.where(u < self.wet_probability, amount, torch.zeros_like(amount))


def standard_gamma(shape: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """``Gamma(shape, 1)`` draws that use ``generator`` alone, on any device (torch's own sampler takes none).

    Marsaglia & Tsang (2000): for ``a >= 1``, ``d = a - 1/3``, ``c = 1 / sqrt(9 d)``, draw ``x ~ N(0, 1)``,
    ``u ~ U(0, 1)``, ``v = (1 + c x)^3`` and accept ``d v`` when ``v > 0`` and
    ``log u < x^2 / 2 + d - d v + d log v`` (over 95 % of draws are accepted; rejected pixels draw again,
    all pixels in each round, so the result depends on the generator alone). For ``a < 1``,
    ``Gamma(a) = Gamma(a + 1) U^(1/a)``.
    """
    small = shape < 1
    d = torch.where(small, shape + 1, shape) - 1.0 / 3.0
    c = torch.rsqrt(9.0 * d)
    draws = torch.zeros_like(d)
    pending = torch.ones_like(d, dtype=torch.bool)
    while bool(pending.any()):
        x = torch.randn(d.shape, generator=generator, device=d.device, dtype=d.dtype)
        u = torch.rand(d.shape, generator=generator, device=d.device, dtype=d.dtype)
        v = (1.0 + c * x) ** 3
        log_v = torch.log(v.clamp(min=torch.finfo(d.dtype).tiny))
        accept = pending & (v > 0) & (torch.log(u) < 0.5 * x.square() + d - d * v + d * log_v)
        draws = torch.where(accept, d * v, draws)
        pending = pending & ~accept
    u = torch.rand(d.shape, generator=generator, device=d.device, dtype=d.dtype)
    return torch.where(small, draws * u ** (1.0 / shape), draws)


@dataclass(frozen=True)
class DeterministicField:
    """The write-up's decoder: one field, ``nll = |y - field|`` (Laplace, scale 1 mm); sampling returns it."""

    field_mm: torch.Tensor

    CHANNELS = 1
    MEAN_CHANNEL = 0

    @classmethod
    def from_head(cls, head: torch.Tensor, base_mm: torch.Tensor | None = None) -> DeterministicField:
        """The field of the decoder's raw output ``head (B, 1, H, W)``."""
        return cls(torch.exp(_log_mean(head.float()[:, 0], base_mm)))

    @property
    def mean_mm(self) -> torch.Tensor:
        return self.field_mm

    def nll(self, y_mm: torch.Tensor) -> torch.Tensor:
        return (self.field_mm - y_mm.float()).abs()

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.field_mm


PixelDistribution = BernoulliLogNormal | BernoulliGamma | DeterministicField
#: The ``likelihood`` keyword of the model -> its distribution class.
LIKELIHOODS: dict[str, type[BernoulliLogNormal] | type[BernoulliGamma] | type[DeterministicField]] = {
    "bernoulli_lognormal": BernoulliLogNormal,
    "bernoulli_gamma": BernoulliGamma,
    "deterministic": DeterministicField,
}
