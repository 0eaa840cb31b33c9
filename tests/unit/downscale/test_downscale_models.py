"""The conditional VAE: shapes, where the coarse field enters the decoder, batched K-sample draws."""

from __future__ import annotations

import pytest
import torch

from atmo.downscale.models import DOWNSCALE_MODELS, ConditionalVAE
from atmo.metrics.ensemble import diversity

BASE, SPATIAL, N_BLOCKS = 4, 6, 2
VARIANTS = {"v1": [], "v2": N_BLOCKS, "v3": [0], "mid": [0, 1]}


def _model(inject, seed: int = 0) -> ConditionalVAE:
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
    )
    return model.eval()


def _inputs(batch: int = 2, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, 3, 4, 5, generator=gen), 20 * torch.rand(batch, 16, 20, generator=gen)


def test_forward_shapes_and_non_negative_output() -> None:
    coarse, fine = _inputs()
    recon, mu, logvar = _model([0])(coarse, fine)
    assert recon.shape == (2, 16, 20) and mu.shape == logvar.shape == (2, 8)
    assert (recon >= 0).all() and torch.isfinite(recon).all()
    assert _model([0]).posterior_mean(coarse, fine).shape == (2, 16, 20)
    assert DOWNSCALE_MODELS["cvae"] is ConditionalVAE


@pytest.mark.parametrize(("variant", "injected"), [("v1", []), ("v2", [0, 1]), ("v3", [0]), ("mid", [0, 1])])
def test_decoder_blocks_receive_the_spatial_features_exactly_where_configured(variant: str, injected) -> None:
    """Counted at run time on the tensors entering each block, not only in the constructor."""
    model = _model(VARIANTS[variant])
    seen = []
    for block in model.decoder.blocks:
        block.register_forward_pre_hook(lambda _module, args: seen.append(args[0].shape[1]))
    coarse, _ = _inputs()
    model.decode(torch.zeros(2, 8), coarse)
    own = [BASE * 2 ** (N_BLOCKS - i) for i in range(N_BLOCKS)]
    assert seen == [c + (SPATIAL if i in injected else 0) for i, c in enumerate(own)]
    assert (model.spatial is None) == (variant == "v1"), "V1 must have no spatial branch at all"


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_the_coarse_field_reaches_the_decoder_through_h_x_and_only_injecting_variants_through_s_x(variant) -> None:
    """Fixed z and h_X: swapping the spatial features changes V2/V3 and leaves V1 unchanged; in every
    variant the coarse field still changes the output through h_X."""
    model = _model(VARIANTS[variant])
    coarse, _ = _inputs(seed=1)
    other, _ = _inputs(seed=2)
    z = torch.randn(2, 8, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        h_x = model.condition(coarse)
        spatial = [model.spatial(c) if model.spatial is not None else None for c in (coarse, other)]
        a, b = (model.decoder(z, h_x, s) for s in spatial)
        assert torch.equal(a, b) == (variant == "v1")
        assert not torch.allclose(model.decode(z, coarse), model.decode(z, other))


def test_k_prior_samples_come_from_one_batched_pass_and_differ() -> None:
    model = _model([0])
    calls = []
    model.decoder.register_forward_hook(lambda _m, args, _out: calls.append(args[0].shape[0]))
    coarse, _ = _inputs(batch=3)
    with torch.no_grad():
        samples = model.sample_prior(coarse, k=5, temperature=1.0, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (3, 5, 16, 20) and (samples >= 0).all()
    assert calls == [15], "all K samples of all cases in one decoder pass"
    assert diversity(samples.numpy()) > 0, "an untrained decoder still maps different z to different fields"


def test_members_belong_to_their_case() -> None:
    """Temperature 0: every member is decode(0, coarse_i) of its own case (the repeat is per case)."""
    model = _model(N_BLOCKS)
    coarse, fine = _inputs(batch=3)
    with torch.no_grad():
        samples = model.sample_prior(coarse, k=4, temperature=0.0)
        expected = model.decode(torch.zeros(3, 8), coarse)
        posterior = model.sample_posterior(coarse, fine, k=4, temperature=0.0)
        mean = model.posterior_mean(coarse, fine)
    torch.testing.assert_close(samples, expected[:, None].expand(-1, 4, -1, -1))
    torch.testing.assert_close(posterior, mean[:, None].expand(-1, 4, -1, -1))


def test_posterior_samples_are_reproducible_with_a_generator() -> None:
    model = _model([0])
    coarse, fine = _inputs()
    with torch.no_grad():
        a, b = (model.sample_posterior(coarse, fine, k=3, generator=torch.Generator().manual_seed(7)) for _ in range(2))
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
    ],
)
def test_bad_settings_are_one_line_value_errors_naming_the_key(change, words) -> None:
    params = {"in_channels": 3, "coarse_shape": (4, 5), "factor": 4, "n_blocks": 2, **change}
    with pytest.raises(ValueError) as err, torch.device("meta"):
        ConditionalVAE(**params)
    assert all(word in str(err.value) for word in words), str(err.value)
