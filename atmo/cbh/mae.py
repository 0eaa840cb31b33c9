"""Masked autoencoder (MAE) over the patch tokens of a frame's view, and its reusable encoder.

Pretraining (rule ``cbh_pretrain_mae``, registry :data:`CBH_PRETRAIN`, arch ``mae``): each sample's
patch tokens (B, T, P) from :mod:`atmo.cbh.views` get learned positional embeddings; a random
``mask_ratio`` of them is hidden (a fresh random subset per sample, drawn from torch's global RNG,
so the trainer's seeding makes it deterministic); the encoder sees only the visible ones; a light
decoder gets the encoded visible tokens plus a learned mask token at every hidden position and
predicts every patch. The loss is the MSE on the masked patches only
(:func:`atmo.cbh.losses.masked_mse`) against pixels in [0, 1], or — with ``norm_pix_loss`` (the
MAE paper's choice, default) — against each patch normalised per channel to zero mean and unit
variance, so the encoder learns structure rather than brightness.

Downstream, :class:`PatchEncoder` is the part that is kept: ``encode(x)`` runs it on all T tokens
without masking. A trained checkpoint (``model.pt`` of module ``cbh``, arch ``mae``) is read with
:func:`read_mae_checkpoint`, which refuses any other file in one line; :func:`load_frozen_encoder`
builds the frozen encoder from it, and :func:`atmo.cbh.models.load_encoder_into` copies it into a
network model. The pretraining script should store the view in the checkpoint's meta
(``model_meta("cbh", "mae", params, view=dataclasses.asdict(view))``) so a network job can check that
it sees frames the way the encoder was trained to.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from atmo.cbh.losses import masked_mse
from atmo.errors import InputError
from atmo.train.checkpoint import load_checkpoint

MODULE, ARCH = "cbh", "mae"
#: The :class:`PatchEncoder` keywords, all of which a network model must share with its MAE checkpoint.
ENCODER_KEYS = ("n_tokens", "patch_dim", "embed_dim", "depth", "heads", "mlp_ratio")


def transformer(dim: int, depth: int, heads: int, mlp_ratio: int, names: tuple[str, str]) -> nn.TransformerEncoder:
    """``depth`` pre-norm transformer blocks on (B, L, dim); ``names`` = the (depth, heads) config keys for errors."""
    if depth < 1:
        raise ValueError(f"{names[0]}: expected >= 1, got {depth}")
    if heads < 1 or dim % heads:
        raise ValueError(f"{names[1]}: {heads} heads must divide the width {dim}")
    layer = nn.TransformerEncoderLayer(
        dim, heads, dim_feedforward=mlp_ratio * dim, dropout=0.0, activation="gelu", batch_first=True, norm_first=True
    )
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


class PatchEncoder(nn.Module):
    """Patch tokens (B, T, P) -> encoded tokens (B, T, D): linear embedding + learned positions + transformer.

    ``forward(patches, keep=None)``: with ``keep`` (B, T_keep) token indices only those tokens are
    encoded (the MAE's visible ones) and the output is (B, T_keep, D).
    """

    def __init__(self, n_tokens: int, patch_dim: int, embed_dim: int, depth: int, heads: int, mlp_ratio: int) -> None:
        super().__init__()
        self.config = {"n_tokens": n_tokens, "patch_dim": patch_dim, "embed_dim": embed_dim, "depth": depth}
        self.config.update(heads=heads, mlp_ratio=mlp_ratio)
        self.patch_embed = nn.Linear(patch_dim, embed_dim)
        self.pos_embed = nn.Parameter(torch.zeros(1, n_tokens, embed_dim))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        self.blocks = transformer(embed_dim, depth, heads, mlp_ratio, ("depth", "heads"))
        self.norm = nn.LayerNorm(embed_dim)

    def forward(self, patches: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        expected = (self.config["n_tokens"], self.config["patch_dim"])
        if tuple(patches.shape[1:]) != expected:
            raise ValueError(f"encoder expects patches (B, {expected[0]}, {expected[1]}), got {tuple(patches.shape)}")
        tokens = self.patch_embed(patches) + self.pos_embed
        if keep is not None:
            tokens = torch.gather(tokens, 1, keep[..., None].expand(-1, -1, tokens.shape[-1]))
        return self.norm(self.blocks(tokens))


class MaskedAutoencoder(nn.Module):
    """MAE on patch tokens (B, T, P); ``forward(patches) -> (loss, {"mse_masked": loss})``.

    Args:
        in_channels, n_tokens, patch_dim: fixed by the data (:func:`atmo.cbh.views.view_params`).
        embed_dim, depth, heads, mlp_ratio: the encoder (the write-up: 192 wide).
        decoder_dim, decoder_depth, decoder_heads: the decoder, used only in pretraining.
        mask_ratio: fraction of tokens hidden per sample; ``int(T * (1 - mask_ratio))`` stay visible.
        norm_pix_loss: target = each patch normalised per channel (True) or the raw [0, 1] pixels.
    """

    def __init__(
        self,
        in_channels: int,
        n_tokens: int,
        patch_dim: int,
        embed_dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        decoder_dim: int = 32,
        decoder_depth: int = 1,
        decoder_heads: int = 4,
        mask_ratio: float = 0.75,
        mlp_ratio: int = 2,
        norm_pix_loss: bool = True,
    ) -> None:
        super().__init__()
        if in_channels < 1 or patch_dim % in_channels:
            raise ValueError(f"patch_dim: {patch_dim} values per patch are not a multiple of {in_channels} channels")
        self.n_visible = int(n_tokens * (1 - mask_ratio))
        if not 0 < mask_ratio < 1 or not 1 <= self.n_visible < n_tokens:
            raise ValueError(f"mask_ratio: {mask_ratio} of {n_tokens} tokens leaves {self.n_visible} visible")
        self.in_channels, self.n_tokens, self.norm_pix_loss = in_channels, n_tokens, norm_pix_loss
        self.encoder = PatchEncoder(n_tokens, patch_dim, embed_dim, depth, heads, mlp_ratio)
        self.decoder_embed = nn.Linear(embed_dim, decoder_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_dim))
        self.decoder_pos_embed = nn.Parameter(torch.zeros(1, n_tokens, decoder_dim))
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        nn.init.trunc_normal_(self.decoder_pos_embed, std=0.02)
        names = ("decoder_depth", "decoder_heads")
        self.decoder = transformer(decoder_dim, decoder_depth, decoder_heads, mlp_ratio, names)
        self.decoder_norm = nn.LayerNorm(decoder_dim)
        self.decoder_pred = nn.Linear(decoder_dim, patch_dim)

    def encode(self, patches: torch.Tensor) -> torch.Tensor:
        """All T patch tokens encoded, without masking: (B, T, P) -> (B, T, D)."""
        return self.encoder(patches)

    def encoder_state_dict(self) -> dict[str, torch.Tensor]:
        """The encoder's weights, keys as in :class:`PatchEncoder`."""
        return self.encoder.state_dict()

    def random_masking(self, batch: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(keep (B, T_vis), restore (B, T), mask (B, T))``: a fresh random subset per sample, mask 1 = hidden."""
        order = torch.argsort(torch.rand(batch, self.n_tokens, device=device), dim=1)
        restore = torch.argsort(order, dim=1)
        mask = torch.ones(batch, self.n_tokens, device=device)
        mask[:, : self.n_visible] = 0
        return order[:, : self.n_visible], restore, torch.gather(mask, 1, restore)

    def target(self, patches: torch.Tensor) -> torch.Tensor:
        """What the decoder must predict: the patches, normalised per patch and channel if ``norm_pix_loss``."""
        if not self.norm_pix_loss:
            return patches
        b, t, p = patches.shape
        per_channel = patches.float().reshape(b, t, self.in_channels, p // self.in_channels)
        mean = per_channel.mean(dim=-1, keepdim=True)
        var = per_channel.var(dim=-1, unbiased=False, keepdim=True)
        return ((per_channel - mean) / (var + 1e-6).sqrt()).reshape(b, t, p)

    def reconstruct(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One masked pass: ``(pred (B, T, P), target (B, T, P), mask (B, T))``; draws the mask from the RNG."""
        keep, restore, mask = self.random_masking(patches.shape[0], patches.device)
        visible = self.decoder_embed(self.encoder(patches, keep))
        hidden = self.mask_token.expand(visible.shape[0], self.n_tokens - self.n_visible, -1).to(visible.dtype)
        tokens = torch.cat([visible, hidden], dim=1)
        tokens = torch.gather(tokens, 1, restore[..., None].expand(-1, -1, tokens.shape[-1]))
        decoded = self.decoder_norm(self.decoder(tokens + self.decoder_pos_embed))
        return self.decoder_pred(decoded), self.target(patches), mask

    def forward(self, patches: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = masked_mse(*self.reconstruct(patches))
        return loss, {"mse_masked": loss.detach()}


#: The pretraining registry (``cbh_pretrain_mae`` trains arch ``mae`` through :func:`atmo.train.train_job`).
CBH_PRETRAIN = {ARCH: MaskedAutoencoder}


@dataclass(frozen=True)
class MaeCheckpoint:
    """What a network job needs from a trained MAE ``model.pt``.

    ``params`` are the MAE's constructor arguments with defaults filled in; ``encoder_state`` the
    :class:`PatchEncoder` weights; ``view`` the view settings stored in the meta (None if absent).
    """

    path: str
    params: dict[str, Any]
    encoder_state: dict[str, torch.Tensor]
    view: dict[str, Any] | None

    def encoder_params(self) -> dict[str, Any]:
        """The :class:`PatchEncoder` keywords (:data:`ENCODER_KEYS`)."""
        return {key: self.params[key] for key in ENCODER_KEYS}


def read_mae_checkpoint(path: str | os.PathLike[str]) -> MaeCheckpoint:
    """Read a MAE ``model.pt`` written by :func:`atmo.train.train_job` (``weights_only=True``).

    Raises :class:`InputError` (one line) for a file that is unreadable, not an atmo model file,
    of another module than ``cbh`` or of another architecture than ``mae``.
    """
    checkpoint = load_checkpoint(path)
    meta = checkpoint.get("meta")
    if not isinstance(meta, Mapping) or not {"module", "arch", "params"} <= meta.keys():
        raise InputError(path, "not an atmo model file: its 'meta' lacks module, arch and params")
    if meta["module"] != MODULE:
        raise InputError(path, f"is a {meta['module']} model ({meta['arch']}), not a {MODULE} MAE checkpoint")
    if meta["arch"] != ARCH:
        raise InputError(path, f"is a {MODULE} {meta['arch']!r} model, not an MAE checkpoint (arch {ARCH!r})")
    try:
        bound = inspect.signature(MaskedAutoencoder).bind(**meta["params"])
    except TypeError as error:
        raise InputError(path, f"MAE parameters {dict(meta['params'])} do not fit the MAE ({error})") from None
    bound.apply_defaults()
    prefix = "encoder."
    state = {key[len(prefix) :]: value for key, value in checkpoint["model"].items() if key.startswith(prefix)}
    if not state:
        raise InputError(path, "holds no encoder weights ('encoder.*' keys)")
    view = meta.get("view")
    return MaeCheckpoint(os.fspath(path), dict(bound.arguments), state, dict(view) if view is not None else None)


def freeze(module: nn.Module) -> nn.Module:
    """``module`` in eval mode with every parameter's ``requires_grad`` off (returned for chaining)."""
    module.requires_grad_(False)
    return module.eval()


def load_frozen_encoder(path: str | os.PathLike[str]) -> PatchEncoder:
    """The frozen :class:`PatchEncoder` of the MAE checkpoint ``path`` (see :func:`read_mae_checkpoint`)."""
    checkpoint = read_mae_checkpoint(path)
    encoder = PatchEncoder(**checkpoint.encoder_params())
    try:
        encoder.load_state_dict(checkpoint.encoder_state)
    except RuntimeError as error:
        raise InputError(path, f"encoder weights do not fit {checkpoint.encoder_params()} ({error})") from None
    return freeze(encoder)
