"""Checkpoints load with weights_only=True; missing, corrupt or foreign files are InputErrors."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import torch
from torch import nn
from train_toys import make_trainer, tiny_net

from atmo.errors import InputError
from atmo.train import load_checkpoint, save_checkpoint


def test_round_trip_into_a_model(tmp_path: Path) -> None:
    model = tiny_net()
    path = save_checkpoint(tmp_path / "model.pt", model, {"lr": 0.1}, epoch=3, metrics={"val_loss": 0.5})
    copy = tiny_net()
    checkpoint = load_checkpoint(path, copy)
    assert checkpoint["epoch"] == 3 and checkpoint["config"] == {"lr": 0.1}
    assert checkpoint["metrics"] == {"val_loss": 0.5}
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), copy.state_dict().values(), strict=True))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temporary file left behind


class NotATensor:
    pass


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "checkpoint does not exist"),
        (b"", "not a readable torch checkpoint"),
        (b"garbage\x00" * 10, "not a readable torch checkpoint"),
        ({"weights": torch.ones(1)}, "not an atmo checkpoint: missing key"),
        (
            {"model": {}, "config": {}, "epoch": 1, "metrics": {}, "x": NotATensor()},
            r"not a readable torch checkpoint \(weights_only loading refused it: Unsupported global",
        ),
    ],
)
def test_bad_checkpoint_files(tmp_path: Path, content, problem: str) -> None:
    path = tmp_path / "bad.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        torch.save(content, path)
    with pytest.raises(InputError, match=f"bad.pt: {problem}"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_model(tmp_path: Path) -> None:
    save_checkpoint(tmp_path / "m.pt", nn.Linear(3, 1), {}, epoch=1, metrics={})
    with pytest.raises(InputError, match=r"m\.pt: weights do not fit the model"):
        load_checkpoint(tmp_path / "m.pt", tiny_net())


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def foreign(path: Path) -> None:
    save_checkpoint(path, tiny_net(), {}, epoch=1, metrics={})  # an exported model, not a last.pt


def test_resume_refuses_a_last_pt_without_training_state(tmp_path: Path) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, epochs=1)
    trainer.fit(train, val)
    foreign(tmp_path / "last.pt")
    trainer, train, val, _ = make_trainer(tmp_path, epochs=1)  # same fingerprint: it must resume
    with pytest.raises(InputError, match=r"last\.pt: has no training state"):
        trainer.fit(train, val)


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


def test_a_truncated_last_pt_resumes_from_the_newest_intact_periodic_checkpoint(tmp_path: Path, caplog) -> None:
    straight, damaged = tmp_path / "straight", tmp_path / "damaged"
    trainer, train, val, _ = make_trainer(straight, epochs=4, checkpoint_every=2)
    trainer.fit(train, val)
    trainer, train, val, _ = make_trainer(damaged, epochs=3, checkpoint_every=2)
    trainer.fit(train, val)  # epochs 1-3: periodic checkpoint at 2, last.pt at 3
    truncate(damaged / "last.pt")
    trainer, train, val, _ = make_trainer(damaged, epochs=4, checkpoint_every=2)
    # a longer run has another fingerprint; keep this one's so the directory is resumed
    trainer.config = replace(trainer.config, epochs=3)
    with caplog.at_level("WARNING"):
        trainer.fit(train, val)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "last.pt: not a readable torch checkpoint" in warnings[0]
    assert warnings[0].endswith(f"resuming from {damaged / 'checkpoints/epoch_0002.pt'} instead")
    assert load_checkpoint(damaged / "last.pt")["epoch"] == 3  # epoch 3 was trained again
    history = (damaged / "history.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in history[1:]] == ["1", "2", "3"]


def test_a_truncated_last_pt_without_an_intact_fallback_starts_afresh(tmp_path: Path, caplog) -> None:
    trainer, train, val, _ = make_trainer(tmp_path, epochs=2, checkpoint_every=5)  # no periodic checkpoint
    trainer.fit(train, val)
    first = _weights(tmp_path / "last.pt")
    truncate(tmp_path / "last.pt")
    trainer, train, val, _ = make_trainer(tmp_path, epochs=2, checkpoint_every=5)
    with caplog.at_level("WARNING"):
        trainer.fit(train, val)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and warnings[0].endswith("training starts afresh at epoch 1")
    again = _weights(tmp_path / "last.pt")  # the same seeded run, so the same weights
    assert all(torch.equal(first[key], again[key]) for key in first)
