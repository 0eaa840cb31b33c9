"""From a MAE model.pt written by train_job into a network model, and every foreign checkpoint refused first."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from atmo.cbh.dataset import load_encoder_into as load_encoder_from_dataset_module
from atmo.cbh.losses import CbhLoss, mae_loss_step, regression_loss_step, regression_val_step
from atmo.cbh.mae import CBH_PRETRAIN, MaskedAutoencoder, load_frozen_encoder, read_mae_checkpoint
from atmo.cbh.models import CBH_MODELS, encoder_keywords, load_encoder_into, pretrained_registry
from atmo.cbh.views import ViewSettings
from atmo.errors import InputError
from atmo.train import load_model, model_meta, save_checkpoint, train_job

VIEW = ViewSettings(patch_height=6)
MAE = {"in_channels": 1, "n_tokens": 8, "patch_dim": 6, "embed_dim": 16, "depth": 1, "heads": 2}
MAE_DECODER = {"decoder_dim": 8, "decoder_heads": 2}
HEAD = {"head_hidden": [8], "physical_hidden": 4}
TRAIN = {
    "epochs": 1,
    "batch_size": 4,
    "device": "cpu",
    "deterministic": False,
    "progress": False,
    "scheduler": "none",
    "monitor": "train_loss",
}


def _items(n: int, physical: int = 3) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(4)
    return [
        {
            "view": torch.rand(8, 6, generator=generator),
            "physical": torch.randn(physical, generator=generator),
            "cbh_km": torch.rand((), generator=generator),
            "index": i,
        }
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def mae_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mae") / "model.pt"
    meta = model_meta("cbh", "mae", {**MAE, **MAE_DECODER}, view=asdict(VIEW))
    train_job(
        registry=CBH_PRETRAIN,
        meta=meta,
        train=TRAIN,
        train_set=[{"view": item["view"]} for item in _items(8)],
        val_set=None,
        loss_step=mae_loss_step,
        inputs={},
        model_path=path,
    )
    return path


def _wp4_params(arch: str, checkpoint_path: Path) -> dict:
    extra = {"attention_heads": 2} if arch == "attention" else {}
    return {**HEAD, **extra, "n_physical": 3, **_keywords(checkpoint_path)}


def _keywords(path: Path) -> dict:
    return encoder_keywords(read_mae_checkpoint(path))


def _mae_encoder_state(path: Path) -> dict[str, torch.Tensor]:
    return load_model(path, CBH_PRETRAIN, "cbh").encoder_state_dict()


def test_mae_checkpoint_encoder_goes_into_every_wp4_variant(mae_path: Path) -> None:
    assert load_encoder_from_dataset_module is load_encoder_into
    keywords = _keywords(mae_path)
    assert keywords == {
        "in_channels": 1,
        "n_tokens": 8,
        "patch_dim": 6,
        "encoder_dim": 16,
        "encoder_depth": 1,
        "encoder_heads": 2,
        "encoder_mlp_ratio": 2,
    }
    expected = _mae_encoder_state(mae_path)
    for arch, cls in CBH_MODELS.items():
        model = load_encoder_into(cls(**_wp4_params(arch, mae_path)), mae_path, VIEW)
        for key, value in model.encoder.state_dict().items():
            assert torch.equal(value, expected[key]), (arch, key)
        assert not any(p.requires_grad for p in model.encoder.parameters())
    frozen = load_frozen_encoder(mae_path)
    assert not frozen.training and not any(p.requires_grad for p in frozen.parameters())
    assert all(torch.equal(value, expected[key]) for key, value in frozen.state_dict().items())


def test_mae_checkpoint_wp4_training_keeps_the_pretrained_encoder(mae_path: Path, tmp_path: Path) -> None:
    arch = "attention"
    meta = model_meta("cbh", arch, _wp4_params(arch, mae_path), loss={"huber_delta": 0.5})
    criterion = CbhLoss(meta["loss"])
    summary = train_job(
        registry=pretrained_registry(CBH_MODELS, mae_path, VIEW),
        meta=meta,
        train={**TRAIN, "epochs": 2, "monitor": "val_mae_km"},
        train_set=_items(12),
        val_set=_items(4),
        loss_step=regression_loss_step(criterion),
        val_step=regression_val_step(criterion),
        inputs={"encoder": mae_path},
        model_path=tmp_path / "model.pt",
    )
    assert {"best_val_mae_km", "best_val_loss", "final_train_mae_km"} <= summary.keys()
    model = load_model(tmp_path / "model.pt", CBH_MODELS, "cbh")  # weights_only=True, self-contained
    expected = _mae_encoder_state(mae_path)
    assert all(torch.equal(value, expected[key]) for key, value in model.encoder.state_dict().items())


def _foreign(path: Path, module: str, arch: str, model: torch.nn.Module, params: dict, **extra) -> Path:
    save_checkpoint(path, model, {}, epoch=1, metrics={}, meta=model_meta(module, arch, params, **extra))
    return path


def _assert_refused(path: Path, model_params: dict, match: str) -> None:
    model = CBH_MODELS["image_only"](**model_params)
    with pytest.raises(InputError, match=match) as error:
        load_encoder_into(model, path, VIEW)
    assert str(error.value).startswith(str(path)) and "\n" not in str(error.value)


def test_mae_checkpoint_of_another_module_or_arch_is_refused(mae_path: Path, tmp_path: Path) -> None:
    params = _wp4_params("image_only", mae_path)
    mae = MaskedAutoencoder(**MAE)
    other_module = _foreign(tmp_path / "nowcast.pt", "nowcast", "mae", mae, MAE)
    _assert_refused(other_module, params, "is a nowcast model")
    wp4 = CBH_MODELS["image_only"](**params)
    other_arch = _foreign(tmp_path / "image_only.pt", "cbh", "image_only", wp4, params)
    _assert_refused(other_arch, params, r"is a cbh 'image_only' model, not an MAE checkpoint")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    _assert_refused(tmp_path / "junk.pt", params, "not a readable torch checkpoint")


@pytest.mark.parametrize(
    ("change", "match"),
    [({"embed_dim": 8}, r"embed_dim 8 \(model: 16\)"), ({"n_tokens": 4}, r"n_tokens 4 \(model: 8\)")],
    ids=["embed_dim", "n_tokens"],
)
def test_mae_checkpoint_of_another_shape_is_refused_before_training(
    change: dict, match: str, mae_path: Path, tmp_path: Path
) -> None:
    params = {**MAE, **change}
    path = _foreign(tmp_path / "mae.pt", "cbh", "mae", MaskedAutoencoder(**params), params)
    _assert_refused(path, _wp4_params("image_only", mae_path), match)
    meta = model_meta("cbh", "image_only", _wp4_params("image_only", mae_path))
    out = tmp_path / "wp4"
    with pytest.raises(InputError, match=match):
        train_job(
            registry=pretrained_registry(CBH_MODELS, path),
            meta=meta,
            train=TRAIN,
            train_set=_items(4),
            val_set=None,
            loss_step=regression_loss_step(CbhLoss()),
            inputs={},
            model_path=out / "model.pt",
        )
    assert not (out / "run").exists()  # refused before the trainer claimed a run directory


def test_mae_checkpoint_of_another_view_is_refused(mae_path: Path, tmp_path: Path) -> None:
    other = _foreign(tmp_path / "grid.pt", "cbh", "mae", MaskedAutoencoder(**MAE), MAE, view=asdict(ViewSettings()))
    _assert_refused(other, _wp4_params("image_only", mae_path), "pretrained on view")
