"""The conditional VAE that samples high-resolution precipitation given the coarse state.

Structure (the write-up's ``model_cvae.py``, WP "Phase 3"), for a coarse input ``X`` of ``C`` channels
on ``h x w`` cells and a fine field ``Y`` on ``H x W = (h f) x (w f)`` cells, ``f = 2**n_blocks``::

    encoder    q(z | X, Y):  log1p(Y) -> n_blocks stride-2 convs -> (c0, h, w), concat X -> FC -> (mu, logvar)
    condition  h_X:          X -> convs -> FC -> (latent_dim,)                     (always used)
    spatial    s_X:          X -> convs -> (spatial_channels, h, w)                (only if a block injects)
    decoder:   FC([z, h_X]) -> (c0, h, w) -> block 0 -> ... -> block n_blocks-1 -> (c, H, W) -> p(Y | z, X)

with ``c0 = base_filters * 2**n_blocks``. Block ``i`` upsamples by 2 and halves the channels. If
``i`` is in ``inject_blocks``, ``s_X`` (bilinearly upsampled to the block's input resolution) is
concatenated to the block's input first — the write-up's ``inject_spatial``. The variants of the write-up
differ only there:

====  ==========================  ==============================================================
V1    ``inject_blocks: []``       no spatial injection: X reaches the decoder through h_X only
V2    ``inject_blocks: n_blocks`` every block (the write-up found the decoder then ignores z:
                                  "decoder laziness", diversity 0.002)
V3    ``inject_blocks: [0]``      the first block only, so the later blocks must use z
mid   ``inject_blocks: [0, 1]``   the write-up's fall-back option 3, "inject at two layers"
====  ==========================  ==============================================================

An integer ``k`` means the first ``k`` blocks, a list the block indices.

Output: the decoder's last conv gives ``c`` channels per pixel, the parameters of the per-pixel
distribution named by ``likelihood`` (:mod:`atmo.downscale.likelihood`): ``bernoulli_gamma`` (the
default) or ``bernoulli_lognormal`` (a wet probability, the mean and the amounts' shape or spread, so
a sample has pixel noise) or ``deterministic`` (the write-up's decoder: the field ``exp(a)`` mm, spread
from z alone). Both use a log
link for the mean — a 190 mm cell needs ``a = 5.2``, not a pre-activation of 190 — and keep the
output non-negative. With ``residual: true`` the log-mean (of the wet amounts; of the field for the
deterministic decoder) is a residual on the mass-consistent bicubic interpolation of the coarse
precipitation (the ``base_mm`` argument of the methods below, computed by
:mod:`atmo.downscale.dataset`), and the residual channel starts at 0, so the untrained model's
(wet) mean is the bicubic field. The encoder sees ``log1p`` of the fine field. Everything in and
out of the model is in mm except the normalised coarse input (:mod:`atmo.downscale.dataset`).

The prior is ``N(0, I)``. Sampling K fields of one case repeats the case K times along the batch
(``repeat_interleave``), decodes all of them in one forward pass and draws one field from each
decoded distribution: shapes ``(B, K, H, W)``. The temperature scales z only, never the pixel noise.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from atmo.downscale.likelihood import LIKELIHOODS, PixelDistribution

# Numerical guard on the encoder's log-variance: sigma between e^-10 and e^5.
_LOGVAR_RANGE = (-20.0, 10.0)


def _norm(channels: int) -> nn.GroupNorm:
    """GroupNorm with up to 8 groups: independent of the batch, so sampling K members per case in one
    batch gives the same fields as sampling them one by one."""
    return nn.GroupNorm(math.gcd(8, channels), channels)


def _conv(c_in: int, c_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), _norm(c_out), nn.SiLU())


def _inject_indices(inject_blocks: int | Sequence[int], n_blocks: int) -> tuple[int, ...]:
    """``inject_blocks`` (first ``k`` blocks, or a list of block indices) as sorted unique indices."""
    if isinstance(inject_blocks, bool):
        raise ValueError(f"inject_blocks: expected an integer or a list of block indices, got {inject_blocks!r}")
    if isinstance(inject_blocks, int):
        if not 0 <= inject_blocks <= n_blocks:
            raise ValueError(
                f"inject_blocks: the first k blocks need 0 <= k <= n_blocks = {n_blocks}, got {inject_blocks}"
            )
        return tuple(range(inject_blocks))
    indices = list(inject_blocks)
    if any(isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n_blocks for i in indices):
        raise ValueError(f"inject_blocks: block indices must be integers in 0..{n_blocks - 1}, got {indices}")
    if len(set(indices)) != len(indices):
        raise ValueError(f"inject_blocks: repeated block index in {indices}")
    return tuple(sorted(indices))


class _Encoder(nn.Module):
    """q(z | X, Y): the fine field (log1p mm) brought down to the coarse grid, joined with X."""

    def __init__(self, in_channels: int, coarse_shape: tuple[int, int], latent_dim: int, base: int, n_blocks: int):
        super().__init__()
        layers: list[nn.Module] = [_conv(1, base)]
        channels = base
        for _ in range(n_blocks):
            layers += [nn.Conv2d(channels, 2 * channels, 4, stride=2, padding=1), _norm(2 * channels), nn.SiLU()]
            channels *= 2
        self.down = nn.Sequential(*layers)
        self.join = nn.Sequential(_conv(channels + in_channels, channels), nn.Conv2d(channels, base, 1), nn.SiLU())
        self.head = nn.Linear(base * coarse_shape[0] * coarse_shape[1], 2 * latent_dim)

    def forward(self, coarse: torch.Tensor, fine_mm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.down(torch.log1p(fine_mm.clamp(min=0.0)).unsqueeze(1))
        features = self.join(torch.cat([features, coarse], dim=1))
        mu, logvar = self.head(features.flatten(1)).chunk(2, dim=1)
        return mu, logvar.clamp(*_LOGVAR_RANGE)


class _Condition(nn.Module):
    """h_X: a vector summary of the coarse input, combined with z before the decoder's first map."""

    def __init__(self, in_channels: int, coarse_shape: tuple[int, int], latent_dim: int, base: int):
        super().__init__()
        self.convs = nn.Sequential(
            _conv(in_channels, 2 * base), _conv(2 * base, 2 * base), nn.Conv2d(2 * base, base, 1), nn.SiLU()
        )
        self.head = nn.Sequential(nn.Linear(base * coarse_shape[0] * coarse_shape[1], latent_dim), nn.SiLU())

    def forward(self, coarse: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(coarse).flatten(1))


class _Block(nn.Module):
    """One decoder block: (optional concatenated s_X) -> transposed conv x2 -> conv; channels halved."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.in_channels = c_in
        self.up = nn.Sequential(nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), _norm(c_out), nn.SiLU())
        self.conv = _conv(c_out, c_out)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.conv(self.up(h))


class _Decoder(nn.Module):
    """p(Y | z, X) from ``z``, ``h_X`` and (for injecting blocks) the spatial features ``s_X``.

    Takes the coarse information as ``h_X`` and ``s_X`` separately, so that a test can hold one
    fixed while changing the other.
    """

    def __init__(
        self,
        coarse_shape: tuple[int, int],
        latent_dim: int,
        base: int,
        n_blocks: int,
        inject: tuple[int, ...],
        spatial_channels: int,
        out_channels: int,
    ) -> None:
        super().__init__()
        self.coarse_shape = coarse_shape
        self.inject = inject
        self.first_channels = base * 2**n_blocks
        self.fc = nn.Sequential(
            nn.Linear(2 * latent_dim, self.first_channels * coarse_shape[0] * coarse_shape[1]), nn.SiLU()
        )
        self.blocks = nn.ModuleList(
            _Block(
                base * 2 ** (n_blocks - i) + (spatial_channels if i in inject else 0),
                base * 2 ** (n_blocks - i - 1),
            )
            for i in range(n_blocks)
        )
        self.head = nn.Conv2d(base, out_channels, 3, padding=1)

    def forward(self, z: torch.Tensor, h_x: torch.Tensor, s_x: torch.Tensor | None) -> torch.Tensor:
        """``z (B, D)``, ``h_x (B, D)``, ``s_x (B, S, h, w)`` or ``None`` -> raw parameters ``(B, c, H, W)``."""
        h = self.fc(torch.cat([z, h_x], dim=1)).view(z.shape[0], self.first_channels, *self.coarse_shape)
        for i, block in enumerate(self.blocks):
            if i in self.inject:
                if s_x is None:
                    raise ValueError(f"decoder block {i} injects the coarse field but no spatial features were given")
                h = torch.cat([h, F.interpolate(s_x, size=h.shape[-2:], mode="bilinear", align_corners=False)], 1)
            h = block(h)
        return self.head(h)


class ConditionalVAE(nn.Module):
    """Conditional VAE for precipitation downscaling (see the module docstring for the structure).

    Args (config keys of a ``downscale.models`` entry's ``params``):
        latent_dim: size of z (the write-up: 128; 16 is enough on small synthetic fields).
        base_filters: channels of the last decoder block; block ``i`` has ``base_filters * 2**(n_blocks-i)``
            input channels (the write-up: 64, i.e. 512 in the first map).
        n_blocks: decoder upsampling blocks; ``2**n_blocks`` must be the data's coarsening factor.
        inject_blocks: decoder blocks that receive the coarse spatial features (int: the first k).
        spatial_channels: channels of those features (the write-up's "+32").
        likelihood: the per-pixel distribution the decoder predicts, ``bernoulli_gamma`` or
            ``bernoulli_lognormal`` (pixel noise in every sample) or ``deterministic`` (the write-up's
            ``exp(decoder)`` field).
        residual: whether the log-mean is a residual on the mass-consistent bicubic field ``base_mm``,
            which the methods then require.

    Data keywords (set from the fields file, never by the config):
        in_channels: coarse input channels (precipitation + predictors).
        coarse_shape: ``(h, w)`` of the coarse grid.
        factor: the fields' high- to low-resolution ratio.
    """

    def __init__(
        self,
        *,
        in_channels: int,
        coarse_shape: Sequence[int],
        factor: int,
        latent_dim: int = 128,
        base_filters: int = 64,
        n_blocks: int = 3,
        inject_blocks: int | Sequence[int] = (0,),
        spatial_channels: int = 32,
        likelihood: str = "bernoulli_gamma",
        residual: bool = True,
    ) -> None:
        super().__init__()
        shape = tuple(int(s) for s in coarse_shape)
        if likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood: expected one of {list(LIKELIHOODS)}, got {likelihood!r}")
        if not isinstance(residual, bool):
            raise ValueError(f"residual: expected true or false, got {residual!r}")
        for name, value in (("latent_dim", latent_dim), ("base_filters", base_filters), ("n_blocks", n_blocks)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        if isinstance(spatial_channels, bool) or not isinstance(spatial_channels, int) or spatial_channels < 1:
            raise ValueError(f"spatial_channels: expected an integer >= 1, got {spatial_channels!r}")
        if len(shape) != 2 or min(shape) < 1 or in_channels < 1:
            raise ValueError(f"coarse input must have >= 1 channel on an (h, w) grid, got {in_channels}, {shape}")
        if factor & (factor - 1) or factor < 2:
            raise ValueError(
                f"n_blocks: the data's coarsening factor {factor} is not a power of 2 >= 2, "
                "and each decoder block upsamples by 2"
            )
        if 2**n_blocks != factor:
            raise ValueError(
                f"n_blocks: 2**n_blocks = {2**n_blocks} must equal the data's coarsening factor {factor} "
                f"(set n_blocks to {factor.bit_length() - 1})"
            )
        self.in_channels = int(in_channels)
        self.coarse_shape = shape
        self.factor = int(factor)
        self.latent_dim = latent_dim
        self.inject_blocks = _inject_indices(inject_blocks, n_blocks)
        self.encoder = _Encoder(self.in_channels, shape, latent_dim, base_filters, n_blocks)
        self.condition = _Condition(self.in_channels, shape, latent_dim, base_filters)
        self.spatial = (
            nn.Sequential(_conv(self.in_channels, spatial_channels), _conv(spatial_channels, spatial_channels))
            if self.inject_blocks
            else None
        )
        self.distribution = LIKELIHOODS[likelihood]
        self.residual = residual
        self.decoder = _Decoder(
            shape, latent_dim, base_filters, n_blocks, self.inject_blocks, spatial_channels, self.distribution.CHANNELS
        )
        mean_channel = self.distribution.MEAN_CHANNEL
        with torch.no_grad():  # the log-mean residual starts at 0: the untrained (wet) mean is the base field
            self.decoder.head.weight[mean_channel].zero_()
            self.decoder.head.bias[mean_channel].zero_()

    # -- parts ------------------------------------------------------------------------------------

    def encode(self, coarse: torch.Tensor, fine_mm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``coarse (B, C, h, w)`` normalised, ``fine_mm (B, H, W)`` -> ``mu, logvar (B, D)``."""
        return self.encoder(coarse, fine_mm)

    def decode(self, z: torch.Tensor, coarse: torch.Tensor, base_mm: torch.Tensor | None = None) -> PixelDistribution:
        """``z (B, D)``, ``coarse (B, C, h, w)`` and, for a residual model, ``base_mm (B, H, W)`` -> p(Y | z, X).

        The per-pixel distribution (:mod:`atmo.downscale.likelihood`) of ``(B, H, W)`` fields in mm.
        """
        if self.residual and base_mm is None:
            raise ValueError("residual: the model's mean is a residual on base_mm, but no base field was given")
        s_x = self.spatial(coarse) if self.spatial is not None else None
        head = self.decoder(z, self.condition(coarse), s_x)
        return self.distribution.from_head(head, base_mm if self.residual else None)

    def forward(
        self, coarse: torch.Tensor, fine_mm: torch.Tensor, base_mm: torch.Tensor | None = None
    ) -> tuple[PixelDistribution, torch.Tensor, torch.Tensor]:
        """Training pass: ``(p(Y | z, X), mu (B, D), logvar (B, D))`` with z drawn from q."""
        mu, logvar = self.encode(coarse, fine_mm)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z, coarse, base_mm), mu, logvar

    # -- sampling ---------------------------------------------------------------------------------

    def _decode_k(
        self,
        coarse: torch.Tensor,
        base_mm: torch.Tensor | None,
        mu: torch.Tensor,
        std: torch.Tensor,
        k: int,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """Decode ``z = mu + std * eps`` for K draws per case in one pass and draw one field from each;
        ``mu``, ``std`` are ``(B, D)``. The generator gives the z draws first, then the pixel draws."""
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k: expected an integer >= 1 samples per case, got {k!r}")
        batch = coarse.shape[0]
        eps = torch.randn(batch * k, self.latent_dim, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu.repeat_interleave(k, dim=0) + std.repeat_interleave(k, dim=0) * eps
        base = None if base_mm is None else base_mm.repeat_interleave(k, dim=0)
        fields_mm = self.decode(z, coarse.repeat_interleave(k, dim=0), base).sample(generator)
        return fields_mm.view(batch, k, *fields_mm.shape[-2:])

    def sample_prior(
        self,
        coarse: torch.Tensor,
        k: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        *,
        base_mm: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """K fields per case from ``z ~ N(0, temperature^2 I)``: ``(B, K, H, W)`` mm (the write-up's prior mode)."""
        mu = torch.zeros(coarse.shape[0], self.latent_dim, device=coarse.device, dtype=coarse.dtype)
        return self._decode_k(coarse, base_mm, mu, torch.full_like(mu, float(temperature)), k, generator)

    def sample_posterior(
        self,
        coarse: torch.Tensor,
        fine_mm: torch.Tensor,
        k: int,
        temperature: float = 1.0,
        generator: torch.Generator | None = None,
        *,
        base_mm: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """K fields per case from ``z ~ N(mu, (temperature sigma)^2)`` of q(z | X, Y): ``(B, K, H, W)`` mm.

        The write-up's posterior mode: the truth informs z, so it measures reconstruction, not generation.
        """
        mu, logvar = self.encode(coarse, fine_mm)
        return self._decode_k(coarse, base_mm, mu, float(temperature) * torch.exp(0.5 * logvar), k, generator)

    def posterior_mean(
        self, coarse: torch.Tensor, fine_mm: torch.Tensor, *, base_mm: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The mean of ``decode(mu)``: the deterministic reconstruction ``(B, H, W)`` mm, the posterior-mean
        reference (no pixel noise)."""
        mu, _ = self.encode(coarse, fine_mm)
        return self.decode(mu, coarse, base_mm).mean_mm


#: Architectures of the ``downscale.models`` entries.
DOWNSCALE_MODELS: dict[str, type[nn.Module]] = {"cvae": ConditionalVAE}
#: Constructor keywords the fields file fixes (never config keys).
DATA_KEYWORDS = ("in_channels", "coarse_shape", "factor")
