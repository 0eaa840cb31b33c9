"""The riskseg network: a segmentation-models-pytorch U-Net with attention on its deepest features.

:class:`AttentionUnet` keeps smp's encoder and decoder and adds three things the write-up's V2.5 has:

* a channel + spatial attention block (:class:`ChannelSpatialAttention`, the CBAM design of Woo et
  al. 2018) on the deepest encoder features, where a pixel's context is widest, so the network can
  weigh which features and which places decide the rare medium class;
* dropout (``dropout``) before the heads;
* two heads on the same decoder features: 3 class logits (trained by the focal loss, used for
  prediction) and the CORAL ordinal head (one shared 1x1 projection plus one bias per class
  boundary, Cao et al. 2020), which ties the classes to their order low < medium < high.

The constructor arguments are exactly a variant's ``params`` config keys (plus ``in_channels``,
which the data decides). ImageNet encoder weights are used only when ``encoder_weights`` asks for
them, and then only from the local Hugging Face cache: nothing is downloaded at run time.
"""

from __future__ import annotations

from collections.abc import Sequence

import segmentation_models_pytorch as smp
import torch
from safetensors.torch import load_file
from torch import nn

from atmo.riskseg import CLASSES

ENCODERS = ("efficientnet-b4", "resnet50", "resnet18", "efficientnet-b0")
ENCODER_WEIGHTS = (None, "imagenet")


class ChannelSpatialAttention(nn.Module):
    """Channel then spatial gating of a ``(B, C, h, w)`` feature map (CBAM).

    Channel weights come from a shared two-layer MLP over the average- and max-pooled features;
    spatial weights from a convolution over the channel-wise mean and max maps. Both are sigmoids,
    so the block can only rescale features, and starts close to a uniform 0.5 gate.
    """

    def __init__(self, channels: int, reduction: int = 16, kernel_size: int = 7) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(nn.Conv2d(channels, hidden, 1), nn.ReLU(inplace=True), nn.Conv2d(hidden, channels, 1))
        self.spatial = nn.Conv2d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        pooled = self.mlp(features.mean(dim=(2, 3), keepdim=True)) + self.mlp(features.amax(dim=(2, 3), keepdim=True))
        features = features * torch.sigmoid(pooled)
        maps = torch.cat([features.mean(dim=1, keepdim=True), features.amax(dim=1, keepdim=True)], dim=1)
        return features * torch.sigmoid(self.spatial(maps))


class CoralHead(nn.Module):
    """CORAL ordinal head: ``(B, F, h, w) -> (B, K-1, h, w)`` logits of P(class > k).

    One 1x1 projection shared by all boundaries plus a bias per boundary: the rank-consistent
    parameterisation of Cao et al. (2020), so the boundary probabilities cannot cross by design of
    the weights (only the biases differ).
    """

    def __init__(self, in_features: int, n_classes: int) -> None:
        super().__init__()
        self.projection = nn.Conv2d(in_features, 1, 1, bias=False)
        self.bias = nn.Parameter(torch.zeros(n_classes - 1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.projection(features) + self.bias.view(1, -1, 1, 1)


def _cached_weights(encoder: str, weights: str) -> str:
    """Path of the encoder's pretrained weights in the local Hugging Face cache; ``ValueError`` if absent.

    smp would download them on a miss; looking the file up ourselves keeps every run offline.
    """
    from huggingface_hub import try_to_load_from_cache
    from segmentation_models_pytorch.encoders import encoders

    settings = encoders[encoder]["pretrained_settings"].get(weights)
    if settings is None:
        raise ValueError(f"encoder_weights: {encoder} has no {weights!r} weights")
    path = try_to_load_from_cache(settings["repo_id"], "model.safetensors", revision=settings["revision"])
    if not isinstance(path, str):
        raise ValueError(
            f"encoder_weights: {weights!r} weights of {encoder} ({settings['repo_id']}) are not available locally; "
            "put them in the Hugging Face cache (HF_HOME) or set encoder_weights: null"
        )
    return path


def _unet(
    encoder: str, encoder_depth: int, encoder_weights: str | None, decoder_channels: Sequence[int], in_channels: int
) -> smp.Unet:
    """smp's U-Net; with ``encoder_weights`` the weights must already be in the local cache."""
    if encoder not in ENCODERS:
        raise ValueError(f"encoder: {encoder!r} is not one of {list(ENCODERS)}")
    if encoder_weights not in ENCODER_WEIGHTS:
        raise ValueError(f"encoder_weights: {encoder_weights!r} is not one of {list(ENCODER_WEIGHTS)}")
    if len(decoder_channels) != encoder_depth:
        raise ValueError(f"decoder_channels: {len(decoder_channels)} entries, expected encoder_depth={encoder_depth}")
    keywords = {
        "encoder_name": encoder,
        "encoder_depth": encoder_depth,
        "decoder_channels": tuple(decoder_channels),
        "in_channels": in_channels,
        "classes": len(CLASSES),
    }
    if encoder_weights is None:
        return smp.Unet(encoder_weights=None, **keywords)
    # as smp does it, without the download: 3-band weights, then the first layer adapted to the bands
    path = _cached_weights(encoder, encoder_weights)
    unet = smp.Unet(encoder_weights=None, **{**keywords, "in_channels": 3})
    unet.encoder.load_state_dict(load_file(path, device="cpu"))
    unet.encoder.set_in_channels(in_channels, pretrained=True)
    return unet


class AttentionUnet(nn.Module):
    """U-Net (smp) + optional attention on the deepest features + dropout + class and CORAL heads.

    ``forward(x)`` maps normalised bands ``(B, in_channels, h, w)`` (h, w multiples of
    2**encoder_depth) to class logits ``(B, 3, h, w)``; ``forward(x, with_ordinal=True)`` also
    returns the CORAL logits ``(B, 2, h, w)`` for the loss.
    """

    def __init__(
        self,
        in_channels: int,
        encoder: str = "efficientnet-b4",
        encoder_depth: int = 5,
        encoder_weights: str | None = None,
        decoder_channels: Sequence[int] = (256, 128, 64, 32, 16),
        attention: bool = True,
        attention_reduction: int = 16,
        dropout: float = 0.4,
    ) -> None:
        super().__init__()
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout: {dropout} is outside [0, 1)")
        self.in_channels = in_channels
        unet = _unet(encoder, encoder_depth, encoder_weights, decoder_channels, in_channels)
        self.encoder, self.decoder = unet.encoder, unet.decoder
        deepest = self.encoder.out_channels[-1]
        self.attention = ChannelSpatialAttention(deepest, attention_reduction) if attention else nn.Identity()
        features = decoder_channels[-1]
        self.dropout = nn.Dropout2d(dropout)
        self.classifier = nn.Conv2d(features, len(CLASSES), 3, padding=1)
        self.coral = CoralHead(features, len(CLASSES))
        self.stride = 2**encoder_depth

    def forward(self, x: torch.Tensor, with_ordinal: bool = False) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        features = list(self.encoder(x))
        features[-1] = self.attention(features[-1])
        decoded = self.dropout(self.decoder(features))
        logits = self.classifier(decoded)
        return (logits, self.coral(decoded)) if with_ordinal else logits


RISKSEG_MODELS: dict[str, type[nn.Module]] = {"attention_unet": AttentionUnet}
