"""The validation step: loss parts, active units and the CRPS of a prior ensemble, fed to the trainer."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import properscoring
import pytest
import torch
from downscale_helpers import tiny_fields_file

from atmo.downscale.losses import TailWeightedLoss
from atmo.downscale.models import ConditionalVAE
from atmo.downscale.training import train_variant
from atmo.downscale.validation import prior_crps, val_step

SPEC = {"arch": "cvae", "params": {"latent_dim": 4, "base_filters": 2, "n_blocks": 2, "spatial_channels": 4}}


def _model_and_batch() -> tuple[ConditionalVAE, dict[str, torch.Tensor]]:
    torch.manual_seed(0)
    model = ConditionalVAE(in_channels=3, coarse_shape=(4, 5), factor=4, latent_dim=4, base_filters=2, n_blocks=2)
    gen = torch.Generator().manual_seed(1)
    fine = torch.where(torch.rand(3, 16, 20, generator=gen) < 0.5, 0.0, 10 * torch.rand(3, 16, 20, generator=gen))
    batch = {
        "coarse": torch.randn(3, 3, 4, 5, generator=gen),
        "fine_mm": fine,
        "base_mm": 5 * torch.rand(3, 16, 20, generator=gen),
        "index": torch.tensor([7, 8, 9]),
    }
    return model.eval(), batch


def test_prior_crps_is_properscorings_crps_of_the_seeded_prior_samples() -> None:
    model, batch = _model_and_batch()
    crps = prior_crps(model, batch, k=4, device=torch.device("cpu"))
    with torch.no_grad():
        generator = torch.Generator().manual_seed(7)  # the batch's first case index
        samples = model.sample_prior(batch["coarse"], 4, 1.0, generator, base_mm=batch["base_mm"]).numpy()
    reference = properscoring.crps_ensemble(batch["fine_mm"].numpy(), np.moveaxis(samples, 1, -1)).mean()
    assert crps.item() == pytest.approx(reference, rel=1e-6)
    assert prior_crps(model, batch, k=4, device=torch.device("cpu")).item() == crps.item(), "common random numbers"


def test_val_step_adds_the_crps_to_the_loss_parts_and_active_units() -> None:
    model, batch = _model_and_batch()
    metrics = val_step(TailWeightedLoss(y_ref_mm=5.0), k=3)(model, batch, torch.device("cpu"))
    assert sorted(metrics) == ["active_units", "crps", "kl", "loss", "recon", "tail_mae"]
    assert all(isinstance(v, torch.Tensor) and v.ndim == 0 for v in metrics.values())
    assert metrics["crps"].item() == pytest.approx(prior_crps(model, batch, 3, torch.device("cpu")).item())
    with pytest.raises(ValueError, match=r"^k: "):
        val_step(TailWeightedLoss(y_ref_mm=5.0), k=1)


def test_the_trainer_logs_val_crps_and_selects_the_exported_epoch_on_it(tmp_path: Path) -> None:
    fields = tiny_fields_file(tmp_path / "fields.h5")
    train = {"epochs": 3, "batch_size": 4, "device": "cpu", "progress": False, "monitor": "val_crps", "lr": 0.01}
    summary = train_variant(fields=fields, variant="v3", spec=SPEC, train=train, model_path=tmp_path / "model.pt")
    history = pd.read_csv(tmp_path / "history.csv")
    assert history["val_crps"].notna().all() and (history["val_crps"] > 0).all()
    best = int(history.loc[history["val_crps"].idxmin(), "epoch"])
    assert summary["best_epoch"] == summary["exported_epoch"] == best
    assert json.loads((tmp_path / "metrics.json").read_text())["best_val_crps"] == pytest.approx(
        history["val_crps"].min()
    )
