"""The tail-weighted negative ELBO against a hand computation, its per-case convention, KL per dimension
and the active-unit counts."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from atmo.downscale.likelihood import BernoulliLogNormal, DeterministicField
from atmo.downscale.losses import (
    TailWeightedLoss,
    active_units,
    kl_per_dim,
    latent_activity,
    loss_step,
)
from atmo.errors import ConfigError


def test_loss_parts_equal_the_hand_computation() -> None:
    y = torch.tensor([[[0.0, 10.0], [20.0, 40.0]]])  # (B=1, H=2, W=2) mm
    pred = DeterministicField(torch.tensor([[[1.0, 10.0], [25.0, 30.0]]]))  # nll = |error|
    mu = torch.tensor([[1.0, 0.0]])
    logvar = torch.tensor([[0.0, math.log(2.0)]])
    criterion = TailWeightedLoss({"w_max": 2.5, "tail_boost": 1.0, "beta_kl": 0.1}, y_ref_mm=20.0)
    # w = min(2.5, 1 + y / 20) = [1, 1.5, 2, 2.5 (capped from 3)]; |error| = [1, 0, 5, 10]; summed over pixels
    recon = 1 * 1 + 1.5 * 0 + 2 * 5 + 2.5 * 10
    # KL = 1/2 (1 + 1 - 1 - 0) + 1/2 (0 + 2 - 1 - log 2)
    kl = 0.5 + 0.5 * (1.0 - math.log(2.0))
    parts = criterion(pred, y, mu, logvar)
    assert parts["recon"].item() == pytest.approx(recon)
    assert parts["kl"].item() == pytest.approx(kl)
    assert parts["loss"].item() == pytest.approx((recon + 0.1 * kl) / 4), "per case, then per pixel"
    assert parts["tail_mae"].item() == pytest.approx(10.0)  # only y = 40 > y_ref = 20
    torch.testing.assert_close(criterion.weights(y), torch.tensor([[[1.0, 1.5], [2.0, 2.5]]]))


def test_the_reconstruction_is_summed_over_pixels_and_the_kl_is_not() -> None:
    """Doubling the image (the same pixels twice) doubles the reconstruction term, not the KL: beta_kl
    prices a nat of KL against a nat of the whole image's likelihood, whatever its size."""
    gen = torch.Generator().manual_seed(0)
    head = torch.randn(2, 3, 4, 5, generator=gen)
    y = torch.where(torch.rand(2, 4, 5, generator=gen) < 0.5, 0.0, 20 * torch.rand(2, 4, 5, generator=gen))
    mu, logvar = torch.randn(2, 6, generator=gen), torch.randn(2, 6, generator=gen)
    criterion = TailWeightedLoss({"beta_kl": 0.5}, y_ref_mm=10.0)
    single = criterion(BernoulliLogNormal.from_head(head), y, mu, logvar)
    double = criterion(BernoulliLogNormal.from_head(torch.cat([head, head], -1)), torch.cat([y, y], -1), mu, logvar)
    assert double["recon"].item() == pytest.approx(2 * single["recon"].item(), rel=1e-6)
    assert double["kl"].item() == pytest.approx(single["kl"].item())
    # per pixel: the same reconstruction share, half the KL share
    assert double["loss"].item() == pytest.approx(
        (2 * single["recon"].item() + 0.5 * single["kl"].item()) / 40, rel=1e-6
    )


def test_with_unit_weights_and_beta_one_the_loss_is_the_negative_elbo_per_pixel() -> None:
    gen = torch.Generator().manual_seed(1)
    dist = BernoulliLogNormal.from_head(torch.randn(3, 3, 2, 2, generator=gen))
    y = 5 * torch.rand(3, 2, 2, generator=gen)
    mu, logvar = torch.randn(3, 4, generator=gen), torch.zeros(3, 4)
    parts = TailWeightedLoss({"tail_boost": 0.0, "beta_kl": 1.0}, y_ref_mm=1.0)(dist, y, mu, logvar)
    elbo = -(dist.nll(y).sum(dim=(1, 2)) + 0.5 * mu.square().sum(dim=1))  # KL with sigma = 1
    assert parts["loss"].item() == pytest.approx(-elbo.mean().item() / 4, rel=1e-6)


def test_kl_is_summed_over_dimensions_and_averaged_over_the_batch() -> None:
    mu = torch.tensor([[2.0, 0.0], [0.0, 0.0]])
    logvar = torch.zeros(2, 2)
    criterion = TailWeightedLoss(y_ref_mm=1.0)
    parts = criterion(DeterministicField(torch.zeros(2, 1, 1)), torch.zeros(2, 1, 1), mu, logvar)
    assert parts["kl"].item() == pytest.approx((0.5 * 4 + 0.0) / 2)
    torch.testing.assert_close(kl_per_dim(mu, logvar), torch.tensor([1.0, 0.0]))


def test_a_batch_without_tail_pixels_has_tail_mae_zero() -> None:
    criterion = TailWeightedLoss(y_ref_mm=50.0)
    parts = criterion(
        DeterministicField(torch.ones(1, 2, 2)), torch.zeros(1, 2, 2), torch.zeros(1, 3), torch.zeros(1, 3)
    )
    assert parts["tail_mae"].item() == 0.0 and parts["kl"].item() == 0.0


@pytest.mark.parametrize(
    ("keywords", "key"),
    [({"w_max": 0.5}, "w_max"), ({"tail_boost": -1.0}, "tail_boost"), ({"beta_kl": -0.1}, "beta_kl")],
)
def test_bad_loss_settings_name_their_key(keywords, key) -> None:
    with pytest.raises(ConfigError, match=rf"key 'downscale\.variants\.v1\.loss\.{key}'"):
        TailWeightedLoss(keywords, y_ref_mm=10.0, where="downscale.variants.v1.loss")
    with pytest.raises(ValueError, match=r"^y_ref_mm: "):
        TailWeightedLoss(y_ref_mm=0.0)


def _latents() -> tuple[torch.Tensor, torch.Tensor]:
    """Three dims over four samples: ignored (mu 0, sigma 1), used (mu +-1), barely off (sigma^2 = 1.05)."""
    mu = torch.tensor([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    logvar = torch.tensor([[0.0, 0.0, math.log(1.05)]]).expand(4, -1)
    return mu, logvar


def test_active_units_counts_dimensions_above_0_01_nats() -> None:
    kl = kl_per_dim(*_latents())
    assert kl[0].item() == 0.0 and kl[1].item() == pytest.approx(0.5) and 0 < kl[2].item() < 0.01
    assert active_units(kl).item() == 1.0


class _Latent(nn.Module):
    """Stands in for the VAE: ``encode`` returns the batch's prepared mu and logvar."""

    def encode(self, coarse: torch.Tensor, fine_mm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return coarse, fine_mm


def test_latent_activity_over_a_data_set_does_not_depend_on_the_batching() -> None:
    mu, logvar = _latents()
    whole = latent_activity(_Latent(), [{"coarse": mu, "fine_mm": logvar}])
    split = latent_activity(
        _Latent(), [{"coarse": mu[:1], "fine_mm": logvar[:1]}, {"coarse": mu[1:], "fine_mm": logvar[1:]}]
    )
    assert whole["active_units_kl"] == split["active_units_kl"] == 1
    assert whole["active_units_burda"] == 1  # Var(mu) = 1 for dim 1, 0 for the others
    assert whole["kl_per_dim"] == pytest.approx(split["kl_per_dim"])
    assert whole["mu_variance_per_dim"] == pytest.approx([0.0, 1.0, 0.0])


class _Echo(nn.Module):
    """A "VAE" whose reconstruction is its coarse input and whose posterior is fixed."""

    def forward(self, coarse: torch.Tensor, fine_mm: torch.Tensor, base_mm: torch.Tensor | None = None):
        return DeterministicField(coarse), torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)


def test_the_loss_step_returns_tensors_for_the_trainer() -> None:
    criterion = TailWeightedLoss(y_ref_mm=1.0)
    batch = {"coarse": torch.ones(1, 2, 2), "fine_mm": torch.zeros(1, 2, 2)}
    loss, extras = loss_step(criterion)(_Echo(), batch, torch.device("cpu"))
    assert sorted(extras) == ["kl", "recon", "tail_mae"] and isinstance(loss, torch.Tensor)
    assert extras["recon"].item() == 4.0, "|1 - 0| summed over the 4 pixels"
