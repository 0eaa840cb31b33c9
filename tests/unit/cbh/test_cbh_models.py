"""network models: output shapes, mean pooling, a frozen encoder through training, model.pt round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from atmo.cbh.losses import CbhLoss, regression_loss_step, regression_val_step
from atmo.cbh.models import CBH_MODELS, ImageOnlyRegressor
from atmo.errors import ConfigError
from atmo.train import check_entries, load_model, model_meta, save_checkpoint

DATA = {"n_physical": 5, "in_channels": 1, "n_tokens": 6, "patch_dim": 8}
ENCODER = {"encoder_dim": 16, "encoder_depth": 1, "encoder_heads": 2, "encoder_mlp_ratio": 2}
PARAMS = {
    "image_only": {"head_hidden": [12, 8]},
    "concat": {"head_hidden": [12], "physical_hidden": 6, "dropout": 0.2},
    "attention": {"head_hidden": [12], "physical_hidden": 6, "attention_heads": 4},
}


def _params(arch: str) -> dict:
    return {**PARAMS[arch], **DATA, **ENCODER}


def _model(arch: str) -> torch.nn.Module:
    torch.manual_seed(0)
    return CBH_MODELS[arch](**_params(arch))


def _batch(n: int = 4) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(2)
    return {
        "view": torch.rand(n, 6, 8, generator=generator),
        "physical": torch.randn(n, 5, generator=generator),
        "cbh_km": torch.rand(n, generator=generator) * 2,
        "index": torch.arange(n),
    }


@pytest.mark.parametrize("arch", sorted(CBH_MODELS))
def test_models_predict_one_height_per_sample(arch: str) -> None:
    model = _model(arch).eval()
    batch = _batch()
    out = model(batch["view"], batch["physical"])
    assert out.shape == (4,) and out.dtype == torch.float32
    changed = model(batch["view"], batch["physical"] + 1.0)
    assert torch.equal(changed, out) == (arch == "image_only")  # only the hybrids read the physical features


def test_models_image_only_pools_the_mean_of_the_patch_tokens() -> None:
    model = _model("image_only").eval()
    view = _batch()["view"]
    tokens = model.encoder(view)
    assert tokens.shape == (4, 6, 16)  # every patch token, nothing prepended
    expected = model.head_out(model.head_body(tokens.mean(dim=1))).squeeze(-1)
    torch.testing.assert_close(model(view), expected)
    assert not any("cls" in name for name in model.state_dict())


@pytest.mark.parametrize("arch", sorted(CBH_MODELS))
def test_models_encoder_stays_frozen_through_an_optimizer_step(arch: str) -> None:
    model = _model(arch)
    encoder_before = {k: v.clone() for k, v in model.encoder.state_dict().items()}
    head_before = model.head_out.weight.detach().clone()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.1)
    model.train()
    assert model.training and not model.encoder.training
    assert not any(p.requires_grad for p in model.encoder.parameters())
    step = regression_loss_step(CbhLoss({"huber_delta": 0.5}))
    loss, extras = step(model, _batch(), torch.device("cpu"))
    assert set(extras) == {"mae_km"} and isinstance(extras["mae_km"], torch.Tensor)
    loss.backward()
    optimizer.step()
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(value, encoder_before[key]), key
    assert not torch.equal(model.head_out.weight, head_before)
    val = regression_val_step(CbhLoss())(model, _batch(), torch.device("cpu"))
    assert set(val) == {"loss", "mae_km"}


@pytest.mark.parametrize("arch", sorted(CBH_MODELS))
def test_models_round_trip_through_model_pt(arch: str, tmp_path: Path) -> None:
    model = _model(arch).eval()
    path = tmp_path / "model.pt"
    meta = model_meta("cbh", arch, _params(arch), loss={"delta": 0.5})
    save_checkpoint(path, model, {}, epoch=1, metrics={}, meta=meta)
    loaded = load_model(path, CBH_MODELS, "cbh")  # weights_only=True
    batch = _batch()
    torch.testing.assert_close(loaded(batch["view"], batch["physical"]), model(batch["view"], batch["physical"]))
    for key, value in model.encoder.state_dict().items():
        assert torch.equal(loaded.encoder.state_dict()[key], value)


def test_models_refuse_settings_by_key() -> None:
    with pytest.raises(ValueError, match=r"^attention_heads: "):
        CBH_MODELS["attention"](**{**_params("attention"), "attention_heads": 3})
    with pytest.raises(ValueError, match=r"^dropout: "):
        ImageOnlyRegressor(**{**_params("image_only"), "dropout": 1.0})
    entries = {name: {"arch": name, "params": _params(name)} for name in CBH_MODELS}
    check_entries("cbh", entries, lambda entry: CBH_MODELS[entry["arch"]](**entry["params"]))
    entries["attention"]["params"]["attention_heads"] = 5
    with pytest.raises(ConfigError, match=r"key 'cbh\.models\.attention\.params\.attention_heads'"):
        check_entries("cbh", entries, lambda entry: CBH_MODELS[entry["arch"]](**entry["params"]))
    loss = CbhLoss({"huber_delta": 0.5})
    assert float(loss(torch.tensor([2.0]), torch.tensor([0.0]))) == pytest.approx(0.5 * (2.0 - 0.25))
    with pytest.raises(ConfigError, match=r"key 'cbh\.models\.concat\.loss\.huber_delta'"):
        CbhLoss({"huber_delta": 0.0}, "cbh.models.concat.loss")
