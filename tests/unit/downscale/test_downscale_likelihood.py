"""The decoder's per-pixel distributions: NLL against hand-worked values and SciPy, and what sampling draws."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats

from atmo.downscale.likelihood import (
    BASE_FLOOR_MM,
    RESIDUAL_RANGE,
    SHAPE_MIN,
    SIGMA_MIN,
    WET_MM,
    BernoulliGamma,
    BernoulliLogNormal,
    DeterministicField,
    standard_gamma,
)


def _head(a: float, r: float, b: float, shape: tuple[int, ...] = (1, 1, 1)) -> torch.Tensor:
    """A raw decoder output ``(B, 3, H, W)`` with the same three parameters at every pixel."""
    return torch.tensor([a, r, b]).view(1, 3, 1, 1).expand(shape[0], 3, *shape[1:]).clone()


def test_parameters_follow_the_documented_link_functions() -> None:
    a, r, b = 0.5, math.log(4.0), 0.3
    dist = BernoulliLogNormal.from_head(_head(a, r, b))
    p = 1.0 / (1.0 + math.exp(-a))
    s = SIGMA_MIN + math.log1p(math.exp(b))
    assert dist.wet_probability.item() == pytest.approx(p)
    assert dist.scale.item() == pytest.approx(s)
    assert dist.loc.item() == pytest.approx(math.log(4.0) - s * s / 2)
    assert dist.mean_mm.item() == pytest.approx(4.0 * p, rel=1e-5), "exp(r) is the wet amounts' mean"


def test_nll_of_a_wet_and_a_dry_pixel_equals_the_hand_computation() -> None:
    # p = 0.5 (a = 0), wet mean 1 mm (r = 0), s chosen as 1 exactly by the inverse of the softplus link
    b = math.log(math.expm1(1.0 - SIGMA_MIN))
    dist = BernoulliLogNormal.from_head(_head(0.0, 0.0, b, (1, 1, 2)))
    loc = math.log(1.0) - 0.5  # m = log(mu) - s^2/2
    y = 3.0
    wet = -math.log(0.5) + math.log(y) + 0.5 * math.log(2 * math.pi) + (math.log(y) - loc) ** 2 / 2
    nll = dist.nll(torch.tensor([[[y, 0.0]]]))
    assert nll[0, 0, 0].item() == pytest.approx(wet, rel=1e-6)
    assert nll[0, 0, 1].item() == pytest.approx(-math.log(0.5), rel=1e-6)


def test_a_residual_moves_the_wet_mean_at_most_a_factor_100_from_the_base_field() -> None:
    base = torch.tensor([[[0.0, 5.0]]])
    squashed = math.exp(RESIDUAL_RANGE * math.tanh(math.log(3.0) / RESIDUAL_RANGE))  # 2.94: near 1, r is log factor
    for r, factor in ((1e4, 100.0), (-1e4, 0.01), (math.log(3.0), squashed)):
        dist = BernoulliGamma.from_head(_head(0.0, r, 0.0, (1, 1, 2)), base)
        wet_mean = dist.mean_mm / dist.wet_probability
        torch.testing.assert_close(wet_mean, factor * (base + BASE_FLOOR_MM), rtol=2e-3, atol=0.0)


def test_a_pixel_that_is_almost_never_wet_keeps_moderate_wet_amounts() -> None:
    """p = 1e-20 with a 1 mm wet mean: the amount distribution does not grow as p shrinks (module docstring)."""
    for family in (BernoulliGamma, BernoulliLogNormal):
        dist = family.from_head(_head(-46.0, 0.0, 0.0, (1, 1, 1)))
        assert dist.wet_probability.item() < 1e-19 and dist.mean_mm.item() < 1e-19
        wet_mean = dist.mean_mm / dist.wet_probability
        assert wet_mean.item() == pytest.approx(1.0, rel=1e-3)


def test_wet_nll_is_minus_log_p_minus_the_lognormal_log_density() -> None:
    """Against SciPy's log-normal density (shape s, scale e^m) at several amounts and parameters."""
    head = torch.tensor([[[[-1.0, 2.0]], [[0.5, 3.0]], [[-0.4, 0.8]]]])  # (1, 3, 1, 2)
    dist = BernoulliLogNormal.from_head(head)
    y = torch.tensor([[[0.7, 55.0]]])
    nll = dist.nll(y)[0, 0].numpy()
    s, m, log_p = dist.scale[0, 0].numpy(), dist.loc[0, 0].numpy(), dist.log_p[0, 0].numpy()
    expected = -log_p - stats.lognorm.logpdf(y[0, 0].numpy(), s=s, scale=np.exp(m))
    np.testing.assert_allclose(nll, expected, rtol=1e-5)


def test_amounts_at_or_below_the_wet_threshold_count_as_dry() -> None:
    dist = BernoulliLogNormal.from_head(_head(1.0, 0.0, 0.0, (1, 1, 3)))
    nll = dist.nll(torch.tensor([[[0.0, WET_MM / 2, WET_MM]]]))
    torch.testing.assert_close(nll, torch.full_like(nll, -dist.log_1mp[0, 0, 0].item()))


def test_samples_have_the_parameters_zero_fraction_and_mean() -> None:
    a, r, b = -0.6, math.log(5.0), -0.5  # p = 0.354, wet mean 5 mm, s = 0.52
    dist = BernoulliLogNormal.from_head(_head(a, r, b, (1, 400, 500)))
    draws = dist.sample(torch.Generator().manual_seed(0)).numpy().ravel()  # 200 000 pixels
    p = 1.0 / (1.0 + math.exp(-a))
    assert (draws == 0).mean() == pytest.approx(1 - p, abs=0.005)
    assert draws.mean() == pytest.approx(5.0 * p, rel=0.02) == dist.mean_mm[0, 0, 0].item()
    wet = np.log(draws[draws > 0])
    assert wet.mean() == pytest.approx(dist.loc[0, 0, 0].item(), abs=0.01)
    assert wet.std() == pytest.approx(dist.scale[0, 0, 0].item(), rel=0.01)


@pytest.mark.parametrize("family", [BernoulliGamma, BernoulliLogNormal])
def test_sampling_is_reproducible_with_a_generator(family) -> None:
    dist = family.from_head(torch.randn(2, 3, 4, 5, generator=torch.Generator().manual_seed(1)))
    a, b = (dist.sample(torch.Generator().manual_seed(7)) for _ in range(2))
    assert torch.equal(a, b) and (a >= 0).all()


def test_gamma_parameters_and_nll_equal_the_hand_computation_and_scipy() -> None:
    a, r, b = 0.4, math.log(6.0), 0.2
    dist = BernoulliGamma.from_head(_head(a, r, b, (1, 1, 3)))
    p = 1.0 / (1.0 + math.exp(-a))
    k = SHAPE_MIN + math.log1p(math.exp(b))
    theta = 6.0 / k  # exp(r) is the wet amounts' mean
    assert dist.shape[0, 0, 0].item() == pytest.approx(k) and dist.scale_mm[0, 0, 0].item() == pytest.approx(theta)
    assert dist.mean_mm[0, 0, 0].item() == pytest.approx(6.0 * p, rel=1e-5)
    y = torch.tensor([[[0.0, 2.5, 40.0]]])
    nll = dist.nll(y)[0, 0].numpy()
    assert nll[0] == pytest.approx(-math.log(1 - p), rel=1e-6)
    hand = -math.log(p) - ((k - 1) * math.log(2.5) - 2.5 / theta - k * math.log(theta) - math.lgamma(k))
    assert nll[1] == pytest.approx(hand, rel=1e-5)
    assert nll[2] == pytest.approx(-math.log(p) - stats.gamma.logpdf(40.0, a=k, scale=theta), rel=1e-5)


def test_gamma_samples_have_the_parameters_zero_fraction_mean_and_distribution() -> None:
    a, r, b = 0.5, math.log(3.0), -1.0  # p = 0.62, wet mean 3 mm, shape 0.41 (< 1: many light amounts)
    dist = BernoulliGamma.from_head(_head(a, r, b, (1, 400, 500)))
    draws = dist.sample(torch.Generator().manual_seed(0)).numpy().ravel()
    p = 1.0 / (1.0 + math.exp(-a))
    assert (draws == 0).mean() == pytest.approx(1 - p, abs=0.005)
    assert draws.mean() == pytest.approx(3.0 * p, rel=0.02)
    k, theta = dist.shape[0, 0, 0].item(), dist.scale_mm[0, 0, 0].item()
    assert stats.kstest(draws[draws > 0], stats.gamma(k, scale=theta).cdf).pvalue > 0.01


@pytest.mark.parametrize("shape", [0.15, 0.8, 1.0, 4.0])
def test_standard_gamma_follows_scipys_gamma_from_the_generator_alone(shape: float) -> None:
    draws = [standard_gamma(torch.full((50_000,), shape), torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(draws[0], draws[1]), "the generator alone decides the draws"
    assert stats.kstest(draws[0].numpy(), stats.gamma(shape).cdf).pvalue > 0.01


def test_a_base_field_is_the_wet_mean_when_the_residual_is_zero() -> None:
    base = torch.tensor([[[0.0, 2.0, 30.0]]])
    for family in (BernoulliGamma, BernoulliLogNormal):
        dist = family.from_head(_head(0.3, 0.0, 0.0, (1, 1, 3)), base)
        torch.testing.assert_close(dist.mean_mm, dist.wet_probability * (base + BASE_FLOOR_MM))
    field = DeterministicField.from_head(torch.zeros(1, 1, 1, 3), base)
    torch.testing.assert_close(field.mean_mm, base + BASE_FLOOR_MM)


def test_the_deterministic_field_is_its_own_sample_and_its_nll_the_absolute_error() -> None:
    field = DeterministicField.from_head(torch.log(torch.tensor([[[[1.0, 4.0]]]])))
    torch.testing.assert_close(field.sample(torch.Generator().manual_seed(0)), torch.tensor([[[1.0, 4.0]]]))
    torch.testing.assert_close(field.nll(torch.tensor([[[0.0, 6.0]]])), torch.tensor([[[1.0, 2.0]]]))
