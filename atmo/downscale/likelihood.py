"""What the cVAE decoder predicts per pixel: a zero-inflated log-normal, or the seed's deterministic field.

Daily precipitation is exactly 0 on most pixels and heavy-tailed where it rains, so the decoder does
not emit a field but the parameters of a per-pixel distribution, and a sample draws from it: the
ensemble spread then comes from the pixel noise as well as from z. Two likelihoods, named by the
model's ``likelihood`` keyword (:mod:`atmo.downscale.models`):

``bernoulli_lognormal`` (default), three output channels ``(a, r, b)`` per pixel::

    p      = sigmoid(a)                                   P(wet), wet meaning y > WET_MM
    mean   = exp(offset + r)                              E[y] in mm (offset: see below)
    s      = SIGMA_MIN + softplus(b)                      std of log y on wet pixels
    m      = log(mean) - log(p) - s^2 / 2                 so that p exp(m + s^2/2) = mean
    y      = 0 with probability 1 - p, else y ~ LogNormal(m, s^2)
    nll(y) = -log(1 - p)                                                   if y <= WET_MM
             -log(p) + log(y) + log(s) + log(2 pi) / 2 + (log y - m)^2 / (2 s^2)   otherwise

Why log-normal rather than gamma for the wet amounts: its tail is heavier (the gamma's is
exponential, the usual reason Bernoulli-gamma downscalers underestimate extremes, and the write-up
is about 150-200 mm maxima); its sample is ``exp(m + s * eps)`` with ``eps`` drawn from the
sampling job's seeded ``torch.Generator``, so a samples file stays reproducible (torch's gamma
sampler takes no generator); and its NLL is a Gaussian's in ``log y``. The price is a poor left
tail: amounts of a few hundredths of a mm are far out in ``log y``. ``WET_MM = 0.1`` — the scores'
default dry threshold — keeps them out: smaller amounts count as dry, as they do when scored.

The *mean* is parameterised rather than ``m``, so that it can be a residual: ``offset`` is
``log(base_mm + BASE_FLOOR_MM)`` when the model is given a base field (the mass-consistent bicubic
interpolation of the coarse precipitation, :func:`atmo.downscale.baselines.bicubic_mm`), else 0.
The model initialises ``r`` to 0, so a residual model starts with the bicubic field as its mean.

``deterministic`` (the seed's decoder), one channel ``a``: the field is ``exp(offset + a)`` mm,
its samples are that field (spread from z alone) and ``nll(y) = |y - field|``, the negative
log-likelihood of a Laplace distribution of scale 1 mm without its constant ``log 2`` — so the
seed's weighted MAE and the ELBO share one convention (:mod:`atmo.downscale.losses`).

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
#: Smallest standard deviation of log y on wet pixels: keeps the NLL finite at a perfect fit.
SIGMA_MIN = 0.05
#: Largest mean, sample or field value (mm): guards exp against a hot pixel.
MAX_MM = 2000.0
_LOG_MAX_MM = math.log(MAX_MM)
_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _offset(base_mm: torch.Tensor | None) -> torch.Tensor | float:
    """``log(base + floor)`` of the base field, or 0 without one."""
    return 0.0 if base_mm is None else torch.log(base_mm.float().clamp(min=0.0) + BASE_FLOOR_MM)


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
        log_mean = (_offset(base_mm) + r).clamp(max=_LOG_MAX_MM)
        scale = SIGMA_MIN + F.softplus(b)
        log_p = F.logsigmoid(a)
        return cls(log_p, F.logsigmoid(-a), log_mean - log_p - 0.5 * scale.square(), scale)

    @property
    def wet_probability(self) -> torch.Tensor:
        return self.log_p.exp()

    @property
    def mean_mm(self) -> torch.Tensor:
        """``p exp(loc + scale^2 / 2)``, the parameterised mean."""
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
class DeterministicField:
    """The seed's decoder: one field, ``nll = |y - field|`` (Laplace, scale 1 mm); sampling returns it."""

    field_mm: torch.Tensor

    CHANNELS = 1
    MEAN_CHANNEL = 0

    @classmethod
    def from_head(cls, head: torch.Tensor, base_mm: torch.Tensor | None = None) -> DeterministicField:
        """The field of the decoder's raw output ``head (B, 1, H, W)``."""
        return cls(torch.exp((_offset(base_mm) + head.float()[:, 0]).clamp(max=_LOG_MAX_MM)))

    @property
    def mean_mm(self) -> torch.Tensor:
        return self.field_mm

    def nll(self, y_mm: torch.Tensor) -> torch.Tensor:
        return (self.field_mm - y_mm.float()).abs()

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        return self.field_mm


PixelDistribution = BernoulliLogNormal | DeterministicField
#: The ``likelihood`` keyword of the model -> its distribution class.
LIKELIHOODS: dict[str, type[BernoulliLogNormal] | type[DeterministicField]] = {
    "bernoulli_lognormal": BernoulliLogNormal,
    "deterministic": DeterministicField,
}
