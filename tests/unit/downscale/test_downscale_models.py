"""The conditional VAE: shapes, where the coarse field enters the decoder, the residual on the base field,
batched K-sample draws with pixel noise."""

from __future__ import annotations

import pytest
import torch

from atmo.downscale.likelihood import BASE_FLOOR_MM, BernoulliGamma
from atmo.downscale.models import DOWNSCALE_MODELS, ConditionalVAE
from atmo.metrics.ensemble import diversity

BASE, SPATIAL, N_BLOCKS = 4, 6, 2
VARIANTS = {"v1": [], "v2": N_BLOCKS, "v3": [0], "mid": [0, 1]}


def _model(inject, seed: int = 0, **change) -> ConditionalVAE:
    torch.manual_seed(seed)
    model = ConditionalVAE(
        in_channels=3,
        coarse_shape=(4, 5),
        factor=4,
        latent_dim=8,
        base_filters=BASE,
        n_blocks=N_BLOCKS,
        inject_blocks=inject,
        spatial_channels=SPATIAL,
        **change,
    )
    return model.eval()


def _inputs(batch: int = 2, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Coarse input, fine truth and base field (mm) of ``batch`` cases."""
    gen = torch.Generator().manual_seed(seed)
    coarse, fine = torch.randn(batch, 3, 4, 5, generator=gen), 20 * torch.rand(batch, 16, 20, generator=gen)
    return coarse, fine, 10 * torch.rand(batch, 16, 20, generator=gen)


def test_forward_gives_a_per_pixel_distribution_and_the_posterior() -> None:
    coarse, fine, base = _inputs()
    distribution, mu, logvar = _model([0])(coarse, fine, base)
    assert isinstance(distribution, BernoulliGamma) and mu.shape == logvar.shape == (2, 8)
    for field in (distribution.mean_mm, distribution.sample(), distribution.nll(fine)):
        assert field.shape == (2, 16, 20) and torch.isfinite(field).all()
    assert (distribution.mean_mm >= 0).all() and (distribution.sample() >= 0).all()
    assert _model([0]).posterior_mean(coarse, fine, base_mm=base).shape == (2, 16, 20)
    assert DOWNSCALE_MODELS["cvae"] is ConditionalVAE


@pytest.mark.parametrize("likelihood", ["bernoulli_gamma", "bernoulli_lognormal", "deterministic"])
def test_an_untrained_residual_model_has_the_base_field_as_its_wet_mean(likelihood: str) -> None:
    """The log-mean residual starts at 0, whatever z and the coarse input."""
    coarse, fine, base = _inputs()
    model = _model([0], likelihood=likelihood)
    with torch.no_grad():
        mean = model.posterior_mean(coarse, fine, base_mm=base)
        mu, _ = model.encode(coarse, fine)
        distribution = model.decode(mu, coarse, base)
    wet = getattr(distribution, "wet_probability", torch.ones_like(mean))
    torch.testing.assert_close(mean, wet * (base + BASE_FLOOR_MM))
    with pytest.raises(ValueError, match=r"^residual: "):
        model.posterior_mean(coarse, fine)
    assert not torch.allclose(_model([0], residual=False).posterior_mean(coarse, fine), mean)


@pytest.mark.parametrize(("variant", "injected"), [("v1", []), ("v2", [0, 1]), ("v3", [0]), ("mid", [0, 1])])
def test_decoder_blocks_receive_the_spatial_features_exactly_where_configured(variant: str, injected) -> None:
    """Counted at run time on the tensors entering each block, not only in the constructor."""
    model = _model(VARIANTS[variant])
    seen = []
    for block in model.decoder.blocks:
        block.register_forward_pre_hook(lambda _module, args: seen.append(args[0].shape[1]))
    coarse, _, base = _inputs()
    model.decode(torch.zeros(2, 8), coarse, base)
    own = [BASE * 2 ** (N_BLOCKS - i) for i in range(N_BLOCKS)]
    assert seen == [c + (SPATIAL if i in injected else 0) for i, c in enumerate(own)]
    assert (model.spatial is None) == (variant == "v1"), "V1 must have no spatial branch at all"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_coarse_field_reaches_the_decoder_through_h_x_and_only_injecting_variants_through_s_x(variant) -> None:
    """Fixed z and h_X: swapping the spatial features changes V2/V3 and leaves V1 unchanged; in every
    variant the coarse field still changes the output through h_X."""
    model = _model(VARIANTS[variant], residual=False)
    coarse, _, _ = _inputs(seed=1)
    other, _, _ = _inputs(seed=2)
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        h_x = model.condition(coarse)
        spatial = [model.spatial(c) if model.spatial is not None else None for c in (coarse, other)]
        a, b = (model.decoder(z, h_x, s) for s in spatial)
        assert torch.equal(a, b) == (variant == "v1")
        # the untrained mean channel is 0 everywhere (module docstring); the wet probability shows h_X
        assert not torch.allclose(model.decode(z, coarse).log_p, model.decode(z, other).log_p)


def test_k_prior_samples_come_from_one_batched_pass_and_differ() -> None:
    model = _model([0])
    calls = []
    model.decoder.register_forward_hook(lambda _m, args, _out: calls.append(args[0].shape[0]))
    coarse, _, base = _inputs(batch=3)
    with torch.no_grad():
        samples = model.sample_prior(coarse, k=5, generator=torch.Generator().manual_seed(0), base_mm=base)
    assert samples.shape == (3, 5, 16, 20) and (samples >= 0).all()
    assert calls == [15], "all K samples of all cases in one decoder pass"
    assert diversity(samples.numpy()) > 0, "an untrained decoder still maps different z to different fields"


def test_members_belong_to_their_case() -> None:
    """Temperature 0, deterministic decoder: every member is decode(0, coarse_i) of its own case."""
    model = _model(N_BLOCKS, likelihood="deterministic", residual=False)
    coarse, fine, _ = _inputs(batch=3)
    with torch.no_grad():
        samples = model.sample_prior(coarse, k=4, temperature=0.0)
        expected = model.decode(torch.zeros(3, 8), coarse).mean_mm
        posterior = model.sample_posterior(coarse, fine, k=4, temperature=0.0)
        mean = model.posterior_mean(coarse, fine)
    torch.testing.assert_close(samples, expected[:, None].expand(-1, 4, -1, -1))
    torch.testing.assert_close(posterior, mean[:, None].expand(-1, 4, -1, -1))


def test_pixel_noise_spreads_the_members_even_when_z_is_fixed() -> None:
    """Temperature 0 fixes z: the zero-inflated decoders' members still differ, the write-up's do not."""
    coarse, _, base = _inputs(batch=2)
    spread = {}
    for likelihood in ("bernoulli_gamma", "bernoulli_lognormal", "deterministic"):
        model = _model([0], likelihood=likelihood)
        with torch.no_grad():
            samples = model.sample_prior(coarse, 6, 0.0, torch.Generator().manual_seed(0), base_mm=base)
        spread[likelihood] = diversity(samples.numpy())
    assert spread["bernoulli_gamma"] > 0 and spread["bernoulli_lognormal"] > 0 and spread["deterministic"] == 0


def test_posterior_samples_are_reproducible_with_a_generator() -> None:
    model = _model([0])
    coarse, fine, base = _inputs()
    with torch.no_grad():
        a, b = (
            model.sample_posterior(coarse, fine, k=3, generator=torch.Generator().manual_seed(7), base_mm=base)
            for _ in range(2)
        )
    assert a.shape == (2, 3, 16, 20) and torch.equal(a, b)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"n_blocks": 3}, ["n_blocks: 2**n_blocks = 8", "factor 4", "set n_blocks to 2"]),
        ({"factor": 6}, ["n_blocks:", "factor 6 is not a power of 2"]),
        ({"inject_blocks": [2]}, ["inject_blocks:", "0..1"]),
        ({"inject_blocks": 3}, ["inject_blocks:", "k <= n_blocks = 2"]),
        ({"inject_blocks": [0, 0]}, ["inject_blocks: repeated"]),
        ({"latent_dim": 0}, ["latent_dim: expected an integer >= 1"]),
        ({"likelihood": "gamma"}, ["likelihood: expected one of", "bernoulli_gamma"]),
        ({"residual": "yes"}, ["residual: expected true or false"]),
    ],
)
def test_bad_settings_are_one_line_value_errors_naming_the_key(change, words) -> None:
    params = {"in_channels": 3, "coarse_shape": (4, 5), "factor": 4, "n_blocks": 2, **change}
    with pytest.raises(ValueError) as err, torch.device("meta"):
        ConditionalVAE(**params)
    assert all(word in str(err.value) for word in words), str(err.value)
