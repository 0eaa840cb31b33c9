"""``config/full.yaml`` builds the write-up's Storm-Graph Transformer, and its residual encoders work."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import yaml

from atmo.nowcast.models.encoder import MultiModalEncoder, ResidualStem
from atmo.nowcast.training import build_entry
from atmo.settings.workflow import validate_workflow_config

CONFIG_DIR = Path(__file__).resolve().parents[4] / "config"
WRITE_UP_SGT_PARAMETERS = 5_252_297  # the write-up's model stats (seeds/001: "Parameters: 5,252,297")


def _full_nowcast() -> dict:
    return validate_workflow_config(yaml.safe_load((CONFIG_DIR / "full.yaml").read_text()))["nowcast"]


def test_the_full_config_builds_an_sgt_of_the_seeds_size() -> None:
    nowcast = _full_nowcast()
    cache = nowcast["cache"]
    model, loss = build_entry(nowcast["models"]["sgt"], cache["frames_in"], cache["frames_out"])
    n_parameters = sum(p.numel() for p in model.parameters())
    assert abs(n_parameters - WRITE_UP_SGT_PARAMETERS) / WRITE_UP_SGT_PARAMETERS < 0.05, n_parameters
    params = nowcast["models"]["sgt"]["params"]
    assert (params["hidden_dim"], params["gnn_layers"], params["transformer_layers"]) == (128, 3, 4)
    assert params["gnn_heads"] == params["transformer_heads"] == 8
    assert all(isinstance(stem, ResidualStem) for stem in model.encoder.stems)
    assert (loss.physics_weight, loss.extreme_weight) == (0.1, 2.0)


def test_the_full_config_trains_with_the_seeds_settings() -> None:
    train = _full_nowcast()["train"]
    assert (train["lr"], train["weight_decay"], train["batch_size"], train["epochs"]) == (1e-4, 1e-5, 4, 20)
    assert (train["scheduler"], train["grad_clip"]) == ("plateau", 1.0)


@pytest.mark.parametrize("blocks", [1, 2])
def test_residual_stems_downsample_to_the_stride_and_keep_missing_modalities_out(blocks: int) -> None:
    torch.manual_seed(0)
    encoder = MultiModalEncoder(hidden_dim=8, stem_channels=4, stride=4, stem="residual", blocks=blocks)
    x = torch.rand(2, 3, 4, 16, 16)
    present = torch.tensor([[True, True, True, True], [True, False, True, False]])
    features = encoder(x, present)
    assert features.shape == (2, 3, 8, 4, 4)
    # an absent modality's values cannot reach the features: changing them changes nothing
    encoder.eval()
    changed = x.clone()
    changed[1, :, 1] = 0.9
    torch.testing.assert_close(encoder(x, present)[1], encoder(changed, present)[1])
    features.sum().backward()
    assert all(p.grad is not None for p in encoder.stems[0].parameters())


def test_an_unknown_encoder_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="encoder must be one of"):
        MultiModalEncoder(hidden_dim=8, stem_channels=4, stride=4, stem="resnet50")
