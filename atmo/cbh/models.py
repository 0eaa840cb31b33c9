"""Regression networks: a frozen pretrained MAE encoder, optionally fused with physical features.

Every variant maps ``forward(view (B, T, P), physical (B, F)) -> cbh_km (B,)``; ``physical`` are the
ERA5 + geometry features of the fold, already imputed and standardised. The image features are the
encoder's patch tokens (B, T, D) — all of them, no CLS token (the write-up found a CLS token useless):

- ``image_only``: mean of the patch tokens -> MLP head. ``physical`` is ignored.
- ``concat``: [mean of the patch tokens, MLP(physical)] -> MLP head.
- ``attention``: the physical embedding is the query of a multi-head cross-attention over the patch
  tokens (keys and values): the atmospheric context chooses which parts of the column matter. The
  attended vector plus the query (a residual), layer-normalised, (B, D) -> MLP head.

The encoder (:class:`~atmo.cbh.mae.PatchEncoder`) is built with the architecture of the MAE
checkpoint (keywords from :func:`encoder_keywords`), its weights are copied in before training by
:func:`load_encoder_into` (or, for :func:`atmo.train.train_job`, by the registry of
:func:`pretrained_registry`) and stay frozen: ``requires_grad`` off and eval mode, also after
``model.train()``. They are part of the model's state_dict, so ``model.pt`` is self-contained and
``load_model(path, CBH_MODELS, "cbh")`` rebuilds the whole model with ``weights_only=True``.

A network job, in short::

    mae = read_mae_checkpoint(snakemake.input.encoder)          # refuses other modules/archs
    params = {**spec["params"], "n_physical": n_features, **encoder_keywords(mae)}
    meta = model_meta("cbh", spec["arch"], params, loss=spec.get("loss", {}))
    train_job(registry=pretrained_registry(CBH_MODELS, mae.path, view), meta=meta, ...,
              inputs={"cache": ..., "encoder": mae.path})
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from typing import Any

import torch
from torch import nn

from atmo.cbh.mae import ENCODER_KEYS, MaeCheckpoint, PatchEncoder, freeze, read_mae_checkpoint
from atmo.cbh.views import ViewSettings
from atmo.errors import InputError

#: Network keyword -> :class:`PatchEncoder` keyword.
ENCODER_KEYWORDS = {
    "n_tokens": "n_tokens",
    "patch_dim": "patch_dim",
    "encoder_dim": "embed_dim",
    "encoder_depth": "depth",
    "encoder_heads": "heads",
    "encoder_mlp_ratio": "mlp_ratio",
}


def mlp(in_dim: int, hidden: Sequence[int], dropout: float) -> tuple[nn.Sequential, int]:
    """``Linear -> GELU -> Dropout`` per hidden size; returns the block and its output width."""
    layers: list[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_dim, width), nn.GELU(), nn.Dropout(dropout)]
        in_dim = width
    return nn.Sequential(*layers), in_dim


class FrozenEncoderRegressor(nn.Module):
    """Base of the network variants: the frozen encoder, an optional physical-feature MLP and the head.

    Args:
        n_physical: number of physical features ``F`` (fixed by the data).
        in_channels, n_tokens, patch_dim, encoder_dim, encoder_depth, encoder_heads, encoder_mlp_ratio:
            the encoder's architecture, fixed by the MAE checkpoint (:func:`encoder_keywords`).
        head_hidden: hidden widths of the regression head (the write-up: 256, 128).
        physical_hidden: width of the physical-feature embedding (concat, attention).
        dropout: dropout after every hidden layer of the head and the physical MLP.
        residual_on_prior: predict a correction to a physical prior height ``prior_km`` (the fold's
            shadow-geometry estimate, climatology where it has none) instead of the height itself. A
            network trained on four height regimes cannot extrapolate to a fifth; the shadow
            geometry can, and the network then only learns where it errs.
    """

    uses_physical = False

    def __init__(
        self,
        *,
        n_physical: int,
        in_channels: int,
        n_tokens: int,
        patch_dim: int,
        encoder_dim: int = 64,
        encoder_depth: int = 2,
        encoder_heads: int = 4,
        encoder_mlp_ratio: int = 2,
        head_hidden: Sequence[int] = (256, 128),
        physical_hidden: int = 64,
        dropout: float = 0.1,
        residual_on_prior: bool = False,
    ) -> None:
        super().__init__()
        self.residual_on_prior = bool(residual_on_prior)
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout: expected 0 <= value < 1, got {dropout!r}")
        if any(width < 1 for width in head_hidden):
            raise ValueError(f"head_hidden: expected widths >= 1, got {list(head_hidden)}")
        if self.uses_physical and (n_physical < 1 or physical_hidden < 1):
            raise ValueError(f"physical_hidden: needs >= 1 (and n_physical >= 1), got {physical_hidden}, {n_physical}")
        self.in_channels, self.physical_hidden = in_channels, physical_hidden
        self.encoder = freeze(
            PatchEncoder(n_tokens, patch_dim, encoder_dim, encoder_depth, encoder_heads, encoder_mlp_ratio)
        )
        self.physical_mlp = mlp(n_physical, [physical_hidden], dropout)[0] if self.uses_physical else None
        self.head_body, width = mlp(self.fused_dim(encoder_dim, physical_hidden), head_hidden, dropout)
        self.head_out = nn.Linear(width, 1)

    def fused_dim(self, encoder_dim: int, physical_hidden: int) -> int:
        """Width of the vector the head reads."""
        return encoder_dim

    def train(self, mode: bool = True) -> FrozenEncoderRegressor:
        """Switch the trainable parts to ``mode``; the encoder always stays in eval mode."""
        super().train(mode)
        self.encoder.eval()
        return self

    def tokens(self, view: torch.Tensor) -> torch.Tensor:
        """Frozen encoder patch tokens (B, T, P) -> (B, T, D), no graph kept."""
        with torch.no_grad():
            return self.encoder(view)

    def fuse(self, tokens: torch.Tensor, physical: torch.Tensor | None) -> torch.Tensor:
        """(B, T, D) tokens and (B, F) features -> (B, fused_dim)."""
        raise NotImplementedError

    def forward(
        self, view: torch.Tensor, physical: torch.Tensor | None = None, prior_km: torch.Tensor | None = None
    ) -> torch.Tensor:
        """(B,) km; with ``residual_on_prior`` the head's output is added to ``prior_km`` (B,)."""
        out = self.head_out(self.head_body(self.fuse(self.tokens(view), physical))).squeeze(-1)
        if not self.residual_on_prior:
            return out
        if prior_km is None:
            raise ValueError("residual_on_prior: this model needs prior_km (the physical prior height) in forward")
        return out + prior_km.to(out.dtype)


class ImageOnlyRegressor(FrozenEncoderRegressor):
    """``image_only``: mean of the patch tokens -> head."""

    def fuse(self, tokens: torch.Tensor, physical: torch.Tensor | None) -> torch.Tensor:
        return tokens.mean(dim=1)


class ConcatRegressor(FrozenEncoderRegressor):
    """``concat``: [mean of the patch tokens, MLP(physical)] -> head."""

    uses_physical = True

    def fused_dim(self, encoder_dim: int, physical_hidden: int) -> int:
        return encoder_dim + physical_hidden

    def fuse(self, tokens: torch.Tensor, physical: torch.Tensor | None) -> torch.Tensor:
        return torch.cat([tokens.mean(dim=1), self.physical_mlp(physical)], dim=-1)


class AttentionRegressor(FrozenEncoderRegressor):
    """``attention``: the physical embedding queries the patch tokens (cross-attention) -> head.

    Args:
        attention_heads: heads of the cross-attention; must divide ``encoder_dim``.
        others: as :class:`FrozenEncoderRegressor`.
    """

    uses_physical = True

    def __init__(self, *, attention_heads: int = 4, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        encoder_dim = self.encoder.config["embed_dim"]
        if attention_heads < 1 or encoder_dim % attention_heads:
            raise ValueError(f"attention_heads: {attention_heads} heads must divide encoder_dim {encoder_dim}")
        self.to_query = nn.Linear(self.physical_hidden, encoder_dim)
        self.attention = nn.MultiheadAttention(encoder_dim, attention_heads, batch_first=True)
        self.norm = nn.LayerNorm(encoder_dim)

    def fuse(self, tokens: torch.Tensor, physical: torch.Tensor | None) -> torch.Tensor:
        query = self.to_query(self.physical_mlp(physical))[:, None]  # (B, 1, D)
        attended, _ = self.attention(query, tokens, tokens, need_weights=False)
        return self.norm(attended + query).squeeze(1)


#: The network registry (``cbh.models.<name>.arch``).
CBH_MODELS: dict[str, type[FrozenEncoderRegressor]] = {
    "image_only": ImageOnlyRegressor,
    "concat": ConcatRegressor,
    "attention": AttentionRegressor,
}


def keywords_of_encoder(in_channels: int, encoder: Mapping[str, Any]) -> dict[str, Any]:
    """A network's keywords for an encoder: ``in_channels`` and its :class:`PatchEncoder` keywords, renamed."""
    return {"in_channels": in_channels, **{ours: encoder[theirs] for ours, theirs in ENCODER_KEYWORDS.items()}}


def encoder_keywords(checkpoint: MaeCheckpoint) -> dict[str, Any]:
    """The network constructor keywords the MAE checkpoint fixes: ``in_channels`` and the encoder's architecture."""
    return keywords_of_encoder(checkpoint.params["in_channels"], checkpoint.encoder_params())


def load_encoder_into(
    model: FrozenEncoderRegressor, source: MaeCheckpoint | str | os.PathLike[str], view: ViewSettings | None = None
) -> FrozenEncoderRegressor:
    """Copy the encoder weights of the MAE checkpoint ``source`` (a path, or one already read) into ``model``.

    Raises :class:`InputError` in one line, before any training, for a checkpoint that is not a
    ``cbh``/``mae`` model file, whose encoder differs in shape (``embed_dim``, ``n_tokens``, ...) or
    channels from ``model``'s, or — when ``view`` is given and the checkpoint records its view — that
    was pretrained on another view.
    """
    checkpoint = source if isinstance(source, MaeCheckpoint) else read_mae_checkpoint(source)
    path = checkpoint.path
    theirs = {**checkpoint.encoder_params(), "in_channels": checkpoint.params["in_channels"]}
    ours = {**model.encoder.config, "in_channels": model.in_channels}
    differing = [key for key in (*ENCODER_KEYS, "in_channels") if theirs[key] != ours[key]]
    if differing:
        detail = ", ".join(f"{key} {theirs[key]} (model: {ours[key]})" for key in differing)
        raise InputError(path, f"the MAE encoder does not fit the model: {detail}")
    if view is not None and checkpoint.view is not None and checkpoint.view != asdict(view):
        raise InputError(path, f"the MAE was pretrained on view {checkpoint.view}, this job uses {asdict(view)}")
    try:
        model.encoder.load_state_dict(checkpoint.encoder_state)
    except RuntimeError as error:
        raise InputError(path, f"encoder weights do not fit the model ({str(error)[:200]})") from None
    freeze(model.encoder)
    return model


def pretrained_registry(
    registry: Mapping[str, Callable[..., FrozenEncoderRegressor]],
    source: MaeCheckpoint | str | os.PathLike[str],
    view: ViewSettings | None = None,
) -> dict[str, Callable[..., FrozenEncoderRegressor]]:
    """``registry`` whose builders also load the encoder of ``source``: what :func:`atmo.train.train_job` gets.

    ``train_job`` builds the model from the registry; this makes the built model carry the
    pretrained encoder from the first epoch on (a refused checkpoint stops the job before training).
    """

    def builder(cls: Callable[..., FrozenEncoderRegressor]) -> Callable[..., FrozenEncoderRegressor]:
        def build(**params: Any) -> FrozenEncoderRegressor:
            return load_encoder_into(cls(**params), source, view)

        return build

    return {arch: builder(cls) for arch, cls in registry.items()}
