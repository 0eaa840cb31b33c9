"""The tail-weighted negative ELBO of the cVAE, the KL term, active latent units, and the trainer's steps.

The write-up names three knobs (``w_max``, ``tail_boost``, ``beta_kl``) but not the formula. Here, for a
batch of ``B`` cases of ``P = H W`` pixels, truth ``y`` in mm, the decoder's per-pixel distribution
``p(y | z, X)`` (:mod:`atmo.downscale.likelihood`) with z drawn from the posterior ``N(mu, sigma^2)``
of ``D`` latent dimensions::

    w(y)     = min(w_max, 1 + tail_boost * y / y_ref)                 per pixel, y_ref = training P99
    recon_b  = sum_p w(y_bp) * nll(y_bp)                               nats per case, SUMMED over pixels
    kl_b     = sum_d 1/2 (mu_bd^2 + sigma_bd^2 - 1 - log sigma_bd^2)   nats per case, summed over dims
    loss     = 1/(B P) sum_b (recon_b + beta_kl * kl_b)                nats per pixel
    tail_mae = sum_{y_bp > y_ref} |mean_bp - y_bp| / max(1, #{y_bp > y_ref})   mm, reported only

**The convention.** Both terms are per case: the reconstruction is the negative log-likelihood
summed over the case's pixels and the KL is summed over its latent dimensions, so ``beta_kl = 1``
with ``w = 1`` is the negative ELBO, and ``beta_kl`` prices one nat of KL against one nat of image
likelihood whatever the image size. The write-up's ``beta_kl = 0.01`` therefore means a KL weighed
at a hundredth of the ELBO's — the "room for z" the write-up asks for. (Before, the reconstruction
was a per-pixel *mean*, so the same 0.01 weighed like ``0.01 P`` = 41 per nat on 64 x 64 fields
and z collapsed.) The sum is divided by ``B P`` only to report the loss per pixel and keep the
gradient scale — and so ``lr`` and ``grad_clip`` — independent of the image size; it does not change
the balance of the two terms. ``recon`` and ``kl`` are logged per case (means over the batch).

**The tail weights** multiply each pixel's NLL. The weight grows linearly with intensity — dry pixels
weigh 1, a pixel at the training P99 weighs ``1 + tail_boost`` — and is capped at ``w_max`` so that
one record storm cannot dominate a batch. Weighting a likelihood by ``w(y)`` fits the tilted density
``w(y) p(y) / E[w]``: heavier rain is drawn more often than the data have it, which is what the write-up
wanted of its extremes and what costs calibration; ``tail_boost = 0`` (the default) gives the plain
likelihood. (On the default config's validation days the write-up's ``w_max = 10, tail_boost = 5`` raised
the 4-member prior CRPS of the gamma decoder from 1.73 to 1.81 mm and its ensemble-mean MAE from
2.02 to 2.24 mm.)
``y_ref`` is a fixed number computed once from the *training* fields
(:func:`atmo.downscale.training.train_variant`), never from the batch, so validation and test
periods cannot leak into the loss. ``tail_mae`` uses the distribution's mean.

Active units. A latent dimension is *active* when the posterior moves away from the prior for it.
The criterion here is the mean KL of that dimension, ``KL_d = mean_x KL(q(z_d | x) || N(0, 1))``,
above 0.01 nats. Burda et al. (2016) use ``Var_x(E_q[z_d]) > 0.01`` instead; the two agree for a
dimension that is ignored (``mu = 0``, ``sigma = 1``: both 0) and both are returned by
:func:`latent_activity`. During training the validation step reports ``active_units`` per batch
(the KL criterion on the batch's per-dimension mean KL); the trainer averages it over batches, so
the logged ``val_active_units`` can be fractional. The exact count over the whole validation set
is :func:`latent_activity`'s, written to ``metrics.json`` after training.

Every part is returned as a tensor (no ``item()``): the shared trainer averages them per epoch. The
validation step, which adds the ensemble CRPS, is :mod:`atmo.downscale.validation`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from atmo.downscale.likelihood import PixelDistribution
from atmo.settings import build_block, settings_block
from atmo.train.device import to_device

#: Mean KL (nats) above which a latent dimension counts as active.
ACTIVE_KL_NATS = 0.01

Step = Callable[[nn.Module, Mapping[str, Any], torch.device], Any]


class TailLossSettings(settings_block("downscale", "variants.*.loss")):
    """A variant's ``loss`` block: ``beta_kl``, ``w_max`` and ``tail_boost`` of the module docstring."""


class TailWeightedLoss(nn.Module):
    """The loss of the module docstring; ``forward`` returns ``{"loss", "recon", "kl", "tail_mae"}``.

    Args:
        loss: a variant's ``loss`` block (a mapping, missing keys taking the schema's defaults, or the
            built settings); its keys, defaults and ranges are declared once, in the downscale schema.
        y_ref_mm: the reference intensity, the training fields' P99 in mm (> 0), fixed by the data.
        where: the block's config path, named by the error a bad value raises.
    """

    def __init__(
        self,
        loss: Mapping[str, Any] | TailLossSettings | None = None,
        *,
        y_ref_mm: float,
        where: str = TailLossSettings.WHERE,
    ) -> None:
        super().__init__()
        settings = build_block(TailLossSettings, loss, where)
        if not (math.isfinite(y_ref_mm) and y_ref_mm > 0):
            raise ValueError(f"y_ref_mm: expected a positive intensity in mm, got {y_ref_mm!r}")
        self.w_max, self.tail_boost, self.beta_kl = settings.w_max, settings.tail_boost, settings.beta_kl
        self.y_ref_mm = float(y_ref_mm)

    def weights(self, y_mm: torch.Tensor) -> torch.Tensor:
        """``w(y) = min(w_max, 1 + tail_boost * y / y_ref)``, same shape as ``y_mm``."""
        return (1.0 + self.tail_boost * y_mm / self.y_ref_mm).clamp(max=self.w_max)

    def forward(
        self, distribution: PixelDistribution, y_mm: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``distribution`` of ``(B, H, W)`` fields, ``y_mm (B, H, W)``; ``mu``, ``logvar`` ``(B, D)``; float32."""
        y_mm = y_mm.float()
        recon = (self.weights(y_mm) * distribution.nll(y_mm)).flatten(1).sum(dim=1)
        kl = kl_per_sample(mu, logvar)
        n_pixels = y_mm[0].numel()
        error = (distribution.mean_mm - y_mm).abs()
        tail = y_mm > self.y_ref_mm
        tail_mae = (error * tail).sum() / tail.sum().clamp(min=1)
        loss = (recon + self.beta_kl * kl).mean() / n_pixels
        return {"loss": loss, "recon": recon.mean(), "kl": kl.mean(), "tail_mae": tail_mae}


def _kl_terms(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, sigma^2) || N(0, 1))`` per sample and dimension, ``(B, D)`` nats."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu.square() + logvar.exp() - 1.0 - logvar)


def kl_per_sample(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL to the prior summed over latent dimensions, ``(B,)`` nats."""
    return _kl_terms(mu, logvar).sum(dim=1)


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL to the prior averaged over the batch, per latent dimension, ``(D,)`` nats."""
    return _kl_terms(mu, logvar).mean(dim=0)


def active_units(kl_dim: torch.Tensor, threshold: float = ACTIVE_KL_NATS) -> torch.Tensor:
    """Number of latent dimensions whose mean KL ``kl_dim (D,)`` exceeds ``threshold`` nats (a float tensor)."""
    return (kl_dim > threshold).sum().float()


def loss_parts(
    model: nn.Module, criterion: TailWeightedLoss, batch: Mapping[str, Any], device: torch.device
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor]:
    """The loss parts of one training pass over ``batch`` (z drawn from q), with the posterior's ``mu, logvar``."""
    batch = to_device(batch, device)
    distribution, mu, logvar = model(batch["coarse"], batch["fine_mm"], batch.get("base_mm"))
    return criterion(distribution, batch["fine_mm"], mu, logvar), mu, logvar


def loss_step(criterion: TailWeightedLoss) -> Step:
    """``loss_step(model, batch, device) -> (loss, {"recon", "kl", "tail_mae"})`` for the shared trainer."""

    def step(model: nn.Module, batch: Mapping[str, Any], device: torch.device):
        parts, _, _ = loss_parts(model, criterion, batch, device)
        return parts["loss"], {name: parts[name].detach() for name in ("recon", "kl", "tail_mae")}

    return step


@torch.no_grad()
def latent_activity(
    model: nn.Module, batches: Iterable[Mapping[str, Any]], device: torch.device | str = "cpu"
) -> dict[str, Any]:
    """Active units of ``model``'s posterior over every sample of ``batches`` (e.g. the validation set).

    Returns ``kl_per_dim`` (list of D mean KLs, nats), ``active_units_kl`` (dims with mean KL > 0.01),
    ``mu_variance_per_dim`` (list of D ``Var_x mu_d``) and ``active_units_burda`` (dims with variance > 0.01,
    Burda et al. 2016). Sums are float64 over samples, so the batch size does not change the result.
    """
    device = torch.device(device)
    model.eval()
    n, kl_sum, mu_sum, mu_sq_sum = 0, 0.0, 0.0, 0.0
    for batch in batches:
        batch = to_device(batch, device)
        mu, logvar = model.encode(batch["coarse"], batch["fine_mm"])
        mu64 = mu.double()
        kl_sum = kl_sum + _kl_terms(mu, logvar).double().sum(dim=0)
        mu_sum = mu_sum + mu64.sum(dim=0)
        mu_sq_sum = mu_sq_sum + mu64.square().sum(dim=0)
        n += mu.shape[0]
    if n == 0:
        raise ValueError("latent_activity needs at least one sample")
    kl_dim = kl_sum / n
    variance = (mu_sq_sum / n - (mu_sum / n).square()).clamp(min=0.0)
    return {
        "kl_per_dim": kl_dim.tolist(),
        "active_units_kl": int((kl_dim > ACTIVE_KL_NATS).sum()),
        "mu_variance_per_dim": variance.tolist(),
        "active_units_burda": int((variance > ACTIVE_KL_NATS).sum()),
    }
