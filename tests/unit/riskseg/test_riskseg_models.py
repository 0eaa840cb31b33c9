"""The attention U-Net: shapes, the attention block's place, and no download of encoder weights."""

from __future__ import annotations

import huggingface_hub.constants
import pytest
import segmentation_models_pytorch as smp
import torch
from safetensors.torch import save_file
from segmentation_models_pytorch.encoders import encoders

from atmo.errors import ConfigError
from atmo.riskseg.models import AttentionUnet, ChannelSpatialAttention
from atmo.riskseg.training import build_variant_entry
from atmo.train import check_entries

SMALL = {"encoder": "resnet18", "encoder_depth": 3, "decoder_channels": (8, 8, 8), "dropout": 0.2}


def test_class_and_ordinal_logits_keep_the_tile_shape() -> None:
    model = AttentionUnet(in_channels=5, **SMALL).eval()
    logits, ordinal = model(torch.randn(2, 5, 32, 32), with_ordinal=True)
    assert logits.shape == (2, 3, 32, 32) and ordinal.shape == (2, 2, 32, 32)
    assert model(torch.randn(1, 5, 32, 32)).shape == (1, 3, 32, 32)


def test_attention_gates_only_the_deepest_features() -> None:
    model = AttentionUnet(in_channels=5, attention=True, **SMALL)
    seen = []
    model.attention.register_forward_hook(lambda module, args, out: seen.append(args[0].shape))
    model(torch.randn(1, 5, 32, 32))
    assert seen == [torch.Size([1, model.encoder.out_channels[-1], 4, 4])]
    assert isinstance(AttentionUnet(in_channels=5, attention=False, **SMALL).attention, torch.nn.Identity)


def test_attention_block_only_rescales_features() -> None:
    block = ChannelSpatialAttention(16, reduction=4)
    features = torch.rand(2, 16, 4, 4)
    gated = block(features)
    assert gated.shape == features.shape
    assert torch.all(gated <= features + 1e-7) and torch.all(gated >= 0)


def test_ordinal_ablation_keeps_the_architecture() -> None:
    spec = {"arch": "attention_unet", "params": SMALL, "loss": {"coral_weight": 0}}
    model = build_variant_entry("v", spec, 5)
    assert isinstance(model, AttentionUnet)


def test_imagenet_weights_that_are_not_cached_stop_the_entry_check(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    entries = {"v25": {"arch": "attention_unet", "params": {**SMALL, "encoder_weights": "imagenet"}}}
    with pytest.raises(ConfigError, match=r"riskseg\.variants\.v25\.params\.encoder_weights.*not available locally"):
        check_entries("riskseg", entries, lambda spec: build_variant_entry("v25", spec, 5), block="variants")


def test_cached_imagenet_weights_are_loaded_without_a_download(monkeypatch, tmp_path) -> None:
    """A file in the local cache layout (snapshots/<revision>/) is what the encoder gets; the first conv is adapted."""
    settings = encoders["resnet18"]["pretrained_settings"]["imagenet"]
    snapshot = tmp_path / f"models--{settings['repo_id'].replace('/', '--')}" / "snapshots" / settings["revision"]
    snapshot.mkdir(parents=True)
    reference = smp.Unet(encoder_name="resnet18", encoder_weights=None, encoder_depth=3, decoder_channels=(8, 8, 8))
    torch.manual_seed(7)
    state = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in reference.encoder.state_dict().items()}
    save_file(state, snapshot / "model.safetensors")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    model = AttentionUnet(in_channels=5, encoder_weights="imagenet", **SMALL)
    loaded = model.encoder.state_dict()
    torch.testing.assert_close(loaded["layer1.0.conv1.weight"], state["layer1.0.conv1.weight"])
    assert loaded["conv1.weight"].shape[1] == 5


def test_decoder_channels_must_match_the_depth() -> None:
    entries = {"v": {"arch": "attention_unet", "params": {**SMALL, "decoder_channels": [8, 8]}}}
    with pytest.raises(ConfigError, match=r"riskseg\.variants\.v\.params\.decoder_channels"):
        check_entries("riskseg", entries, lambda spec: build_variant_entry("v", spec, 5), block="variants")
