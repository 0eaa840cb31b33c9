"""The cVAE's validation step: the loss parts, the active latent units and the CRPS of a prior ensemble.

What the experiment is judged on is the prior ensemble's CRPS on held-out days, not the loss: the
loss encodes the truth into z (posterior), and with ``beta_kl`` and the tail weights it is not even a
likelihood. So each validation batch also draws ``k`` prior samples per case (z from ``N(0, I)``,
then pixel noise; temperature 1) and scores them with the standard ensemble CRPS of the test scores
(:func:`atmo.metrics.ensemble.crps_ensemble`), averaged over pixels: ``val_crps`` in mm, which
``train.monitor`` can select the best epoch and stop on. Every case has the same pixel count, so the
trainer's sample-weighted mean over batches is the per-pixel CRPS of the whole validation split.

The draws come from a generator seeded with the batch's first case index, not from the global RNG:
the same validation case gets the same z and pixel noise at every epoch (common random numbers),
so ``val_crps`` moves with the weights, not with the draws, and training's random stream is
untouched. A small K makes the standard estimator biased upwards by the spread term's ``1/K``,
equally at every epoch, so it ranks epochs without ranking them wrongly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from atmo.downscale.losses import ACTIVE_KL_NATS, Step, TailWeightedLoss, active_units, kl_per_dim, loss_parts
from atmo.metrics.ensemble import crps_ensemble
from atmo.train.device import to_device

#: Prior samples per validation case for ``val_crps``.
DEFAULT_K = 4


@torch.no_grad()
def prior_crps(model: nn.Module, batch: Mapping[str, Any], k: int, device: torch.device) -> torch.Tensor:
    """Mean per-pixel CRPS (mm) of ``k`` prior samples per case of ``batch``, draws seeded by its first index."""
    batch = to_device(batch, device)
    generator = torch.Generator(device=device).manual_seed(int(batch["index"][0]))
    samples = model.sample_prior(batch["coarse"], k, 1.0, generator, base_mm=batch.get("base_mm"))
    crps = crps_ensemble(batch["fine_mm"].double().cpu().numpy(), samples.double().cpu().numpy())
    return torch.tensor(float(crps.mean()))


def val_step(criterion: TailWeightedLoss, k: int = DEFAULT_K, threshold: float = ACTIVE_KL_NATS) -> Step:
    """``val_step -> {"loss", "recon", "kl", "tail_mae", "active_units", "crps"}`` (logged as ``val_<name>``).

    ``active_units`` is the KL criterion (``threshold`` nats) on this batch's per-dimension mean KL
    (:mod:`atmo.downscale.losses`); ``crps`` that of ``k`` prior samples per case (module docstring).
    """
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"k: the validation CRPS needs an ensemble of at least 2 prior samples, got {k!r}")

    def step(model: nn.Module, batch: Mapping[str, Any], device: torch.device) -> dict[str, torch.Tensor]:
        parts, mu, logvar = loss_parts(model, criterion, batch, device)
        return {
            **{name: value.detach() for name, value in parts.items()},
            "active_units": active_units(kl_per_dim(mu, logvar), threshold),
            "crps": prior_crps(model, batch, k, device),
        }

    return step
