"""The tail-weighted cVAE loss, the KL term, active latent units, and the trainer's loss steps.

The seed names three knobs (``w_max``, ``tail_boost``, ``beta_kl``) but not the formula; the one
used here, for a batch of ``B`` fields of ``P = H W`` pixels, truth ``y`` and reconstruction
``yhat`` in mm, posterior ``N(mu, sigma^2)`` with ``D`` latent dimensions::

    w(y)     = min(w_max, 1 + tail_boost * y / y_ref)                       per pixel, y_ref = training P99
    recon    = 1/(B P) sum_{b,p} w(y_bp) |yhat_bp - y_bp|                   weighted MAE, mm
    kl       = 1/B sum_b sum_d 1/2 (mu_bd^2 + sigma_bd^2 - 1 - log sigma_bd^2)   nats, summed over dims
    loss     = recon + beta_kl * kl
    tail_mae = sum_{y_bp > y_ref} |yhat_bp - y_bp| / max(1, #{y_bp > y_ref})     mm, reported only

The weight grows linearly with intensity — dry pixels weigh 1, a pixel at the training P99 weighs
``1 + tail_boost`` — and is capped at ``w_max`` so that one record storm cannot dominate a batch.
The weighted MAE is divided by the pixel count, not by the sum of the weights, so raising
``tail_boost`` really raises the pull of heavy rain relative to the KL term. ``y_ref`` is a fixed
number computed once from the *training* fields (:func:`atmo.downscale.training.train_variant`),
never from the batch, so validation and test periods cannot leak into the loss. The seed's
"aggressive" setting is ``w_max = 10, tail_boost = 5, beta_kl = 0.01`` (the defaults).

Active units. A latent dimension is *active* when the posterior moves away from the prior for it.
The criterion here is the mean KL of that dimension, ``KL_d = mean_x KL(q(z_d | x) || N(0, 1))``,
above 0.01 nats. Burda et al. (2016) use ``Var_x(E_q[z_d]) > 0.01`` instead; the two agree for a
dimension that is ignored (``mu = 0``, ``sigma = 1``: both 0) and both are returned by
:func:`latent_activity`. During training the validation step reports ``active_units`` per batch
(the KL criterion on the batch's per-dimension mean KL); the trainer averages it over batches, so
the logged ``val_active_units`` can be fractional. The exact count over the whole validation set
is :func:`latent_activity`'s, written to ``metrics.json`` after training.

Every part is returned as a tensor (no ``item()``): the shared trainer averages them per epoch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from atmo.train.device import to_device

#: Mean KL (nats) above which a latent dimension counts as active.
ACTIVE_KL_NATS = 0.01

Step = Callable[[nn.Module, Mapping[str, Any], torch.device], Any]


class TailWeightedLoss(nn.Module):
    """The loss of the module docstring; ``forward`` returns ``{"loss", "recon", "kl", "tail_mae"}``.

    Args (the ``loss`` block of a ``downscale.models`` entry, plus one data keyword):
        w_max: cap of the per-pixel weight (>= 1).
        tail_boost: weight added per ``y_ref`` of rain (>= 0; 0 gives the plain MAE).
        beta_kl: weight of the KL term (>= 0).
        y_ref_mm: the reference intensity, the training fields' P99 in mm (> 0; data keyword).
    """

    def __init__(self, *, y_ref_mm: float, w_max: float = 10.0, tail_boost: float = 5.0, beta_kl: float = 0.01):
        super().__init__()
        checks = (
            ("w_max", w_max, math.isfinite(w_max) and w_max >= 1, "expected a finite number >= 1"),
            ("tail_boost", tail_boost, math.isfinite(tail_boost) and tail_boost >= 0, "expected >= 0"),
            ("beta_kl", beta_kl, math.isfinite(beta_kl) and beta_kl >= 0, "expected >= 0"),
            ("y_ref_mm", y_ref_mm, math.isfinite(y_ref_mm) and y_ref_mm > 0, "expected a positive intensity in mm"),
        )
        for name, value, ok, expected in checks:
            if not ok:
                raise ValueError(f"{name}: {expected}, got {value!r}")
        self.w_max, self.tail_boost, self.beta_kl = float(w_max), float(tail_boost), float(beta_kl)
        self.y_ref_mm = float(y_ref_mm)

    def weights(self, y_mm: torch.Tensor) -> torch.Tensor:
        """``w(y) = min(w_max, 1 + tail_boost * y / y_ref)``, same shape as ``y_mm``."""
        return (1.0 + self.tail_boost * y_mm / self.y_ref_mm).clamp(max=self.w_max)

    def forward(
        self, recon_mm: torch.Tensor, y_mm: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        """``recon_mm``, ``y_mm`` ``(B, H, W)``; ``mu``, ``logvar`` ``(B, D)``; all parts computed in float32."""
        recon_mm, y_mm = recon_mm.float(), y_mm.float()
        error = (recon_mm - y_mm).abs()
        recon = (self.weights(y_mm) * error).mean()
        kl = kl_per_sample(mu, logvar).mean()
        tail = y_mm > self.y_ref_mm
        tail_mae = (error * tail).sum() / tail.sum().clamp(min=1)
        return {"loss": recon + self.beta_kl * kl, "recon": recon, "kl": kl, "tail_mae": tail_mae}


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


def _parts(model: nn.Module, criterion: TailWeightedLoss, batch: Mapping[str, Any], device: torch.device):
    batch = to_device(batch, device)
    recon_mm, mu, logvar = model(batch["coarse"], batch["fine_mm"])
    return criterion(recon_mm, batch["fine_mm"], mu, logvar), mu, logvar


def loss_step(criterion: TailWeightedLoss) -> Step:
    """``loss_step(model, batch, device) -> (loss, {"recon", "kl", "tail_mae"})`` for the shared trainer."""

    def step(model: nn.Module, batch: Mapping[str, Any], device: torch.device):
        parts, _, _ = _parts(model, criterion, batch, device)
        return parts["loss"], {name: parts[name].detach() for name in ("recon", "kl", "tail_mae")}

    return step


def val_step(criterion: TailWeightedLoss, threshold: float = ACTIVE_KL_NATS) -> Step:
    """``val_step -> {"loss", "recon", "kl", "tail_mae", "active_units"}`` (logged as ``val_<name>``).

    ``active_units`` is the KL criterion on this batch's per-dimension mean KL (see the module docstring).
    """

    def step(model: nn.Module, batch: Mapping[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
        parts, mu, logvar = _parts(model, criterion, batch, device)
        return {**{k: v.detach() for k, v in parts.items()}, "active_units": active_units(kl_per_dim(mu, logvar))}

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
