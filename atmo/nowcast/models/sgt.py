"""Part 7: the Storm-Graph Transformer, wiring parts 1-6 together.

``x -> encoder (per frame, fused) -> [storm cells of the last frame -> graph attention -> splat onto
the last frame's features] -> [spatio-temporal transformer] -> frames merged into one context map ->
advection decoder``, which advects along the optical-flow motion prior plus a learned correction
(``motion_prior``; without it the decoder learns the whole motion). The bracketed parts are the
``use_gnn`` and ``use_transformer`` ablations: when switched off the module is not built at all, so it
has no parameters and costs nothing.
"""

from __future__ import annotations

import torch
from torch import nn

from atmo.nowcast.models.advection import AdvectionDecoder
from atmo.nowcast.models.base import VIL_CHANNEL, Forecast, NowcastModel, check_inputs
from atmo.nowcast.models.detector import StormCellDetector
from atmo.nowcast.models.encoder import MultiModalEncoder
from atmo.nowcast.models.graph import StormGraphNetwork
from atmo.nowcast.models.splat import GaussianSplat
from atmo.nowcast.models.transformer import SpatioTemporalTransformer

NODE_EXTRA_FEATURES = 3  # peak intensity and (x, y) position appended to the pooled encoder features


class StormGraphTransformer(NowcastModel):
    """Storm-Graph Transformer nowcaster: ``(B, T_in, 4, H, W), (B, 4) -> (B, T_out, H, W)`` VIL code/255.

    Args:
        frames_in, frames_out: input and output sequence lengths (12 -> 6, 13 -> 12, ...).
        hidden_dim: feature channels everywhere after the stems (divisible by 4 and by both head counts).
        stem_channels: channels of each per-modality stem CNN (of the first stage, for ``residual``).
        encoder: per-modality stems, ``plain`` (strided convolutions) or ``residual`` (ResNet basic
            blocks, channels doubling per stage: the write-up's per-modality ResNet encoders).
        encoder_blocks: residual blocks per stage of a ``residual`` encoder.
        stride: encoder downsampling (power of two); ``H`` and ``W`` must be divisible by
            ``stride * patch_size``.
        use_gnn: build the storm-cell detector, graph network and splatting (ablation switch).
        use_transformer: build the spatio-temporal transformer (ablation switch).
        motion_prior: advect along the cache's optical-flow motion plus a learned correction, so the
            untrained model is the optical-flow baseline; ``forecast`` then needs ``motion``.
        cell_threshold_code: minimum VIL code (0..254) of a storm-cell peak.
        max_cells: storm cells kept per sample.
        cell_min_distance_px: peaks closer than this many input pixels are merged.
        k_neighbors: graph edges per cell.
        gnn_layers, gnn_heads: GATv2 depth and heads.
        splat_sigma_px: initial Gaussian splat width in input pixels (learnable).
        transformer_layers, transformer_heads, mlp_ratio, patch_size: transformer size and token patches.
    """

    def __init__(
        self,
        frames_in: int = 12,
        frames_out: int = 6,
        hidden_dim: int = 32,
        stem_channels: int = 8,
        encoder: str = "plain",
        encoder_blocks: int = 2,
        stride: int = 4,
        use_gnn: bool = True,
        use_transformer: bool = True,
        motion_prior: bool = True,
        cell_threshold_code: float = 74,
        max_cells: int = 32,
        cell_min_distance_px: int = 3,
        k_neighbors: int = 4,
        gnn_layers: int = 2,
        gnn_heads: int = 2,
        splat_sigma_px: float = 4.0,
        transformer_layers: int = 2,
        transformer_heads: int = 4,
        mlp_ratio: int = 2,
        patch_size: int = 2,
    ) -> None:
        super().__init__()
        self.frames_in, self.frames_out = frames_in, frames_out
        self.stride = stride
        self.divisor = stride * patch_size if use_transformer else stride
        self.motion_prior = motion_prior
        self.encoder = MultiModalEncoder(hidden_dim, stem_channels, stride, stem=encoder, blocks=encoder_blocks)
        self.detector = StormCellDetector(cell_threshold_code, max_cells, cell_min_distance_px) if use_gnn else None
        self.gnn = (
            StormGraphNetwork(hidden_dim + NODE_EXTRA_FEATURES, hidden_dim, gnn_layers, gnn_heads, k_neighbors)
            if use_gnn
            else None
        )
        self.splat = GaussianSplat(splat_sigma_px) if use_gnn else None
        self.transformer = (
            SpatioTemporalTransformer(
                hidden_dim, frames_in, transformer_layers, transformer_heads, mlp_ratio, patch_size
            )
            if use_transformer
            else None
        )
        # Folding time into channels lets the decoder see how the scene evolved, with or without the
        # transformer, so the transformer ablation removes global attention and not temporal information.
        self.merge_time = nn.Conv2d(frames_in * hidden_dim, hidden_dim, 1)
        self.decoder = AdvectionDecoder(hidden_dim, frames_out, stride)

    def forecast(self, x: torch.Tensor, present: torch.Tensor, motion: torch.Tensor | None = None) -> Forecast:
        check_inputs(x, present, self.frames_in, self.divisor, motion)
        if self.motion_prior and motion is None:
            raise ValueError("this SGT advects along a motion prior (motion_prior: true): pass the cache's motion")
        feats = self.encoder(x, present)  # (B, T_in, C, h, w)
        last_vil = x[:, -1, VIL_CHANNEL]
        if self.gnn is not None:
            feats = torch.cat([feats[:, :-1], self.storm_context(last_vil, feats[:, -1])[:, None]], dim=1)
        if self.transformer is not None:
            feats = self.transformer(feats)
        context = self.merge_time(feats.flatten(1, 2))
        return self.decoder(context, last_vil, motion if self.motion_prior else None)

    def storm_context(self, last_vil: torch.Tensor, last_feats: torch.Tensor) -> torch.Tensor:
        """Last frame's features ``(B, C, h, w)`` plus the splatted storm-cell graph embeddings."""
        cells = self.detector(last_vil, last_feats)
        nodes = self.gnn(cells, float(max(last_vil.shape[-2:])))
        return last_feats + self.splat(nodes, cells.xy_px, cells.valid, last_feats.shape[-2:], self.stride)
