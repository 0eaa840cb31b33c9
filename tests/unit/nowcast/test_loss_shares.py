"""Loss-term shares at the last epoch, from real history files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.nowcast.loss_shares import last_epoch_shares, write_loss_shares


def _history(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def test_shares_are_the_last_epochs_weighted_terms_over_their_sum(tmp_path: Path) -> None:
    path = _history(
        tmp_path / "h.csv",
        [
            {"epoch": 1, "train_loss": 9.0, "train_weighted_mse": 8.0, "train_weighted_physics": 1.0},
            {"epoch": 2, "train_loss": 4.0, "train_weighted_mse": 3.0, "train_weighted_physics": 1.0},
        ],
    )
    assert last_epoch_shares(path) == {"mse": 0.75, "extreme": 0.0, "soft_csi": 0.0, "physics": 0.25}


def test_untrained_history_has_no_shares_and_an_old_one_is_refused(tmp_path: Path) -> None:
    assert last_epoch_shares(_history(tmp_path / "u.csv", [{"epoch": 0, "val_loss": 1.0}])) is None
    with pytest.raises(InputError, match=r"old\.csv"):
        last_epoch_shares(_history(tmp_path / "old.csv", [{"epoch": 1, "train_loss": 1.0, "train_mse": 1.0}]))


def test_table_averages_seeds_and_skips_untrained_entries(tmp_path: Path) -> None:
    def trained(name: str, physics: float) -> Path:
        row = {"epoch": 3, "train_loss": 1.0, "train_weighted_mse": 1.0 - physics, "train_weighted_physics": physics}
        return _history(tmp_path / name, [row])

    histories = {
        "sgt": {"0": trained("a.csv", 0.1), "1": trained("b.csv", 0.3)},
        "sgt_untrained": {"0": _history(tmp_path / "u.csv", [{"epoch": 0, "val_loss": 1.0}])},
    }
    kinds = {"sgt": "model", "sgt_untrained": "ablation"}
    rows = write_loss_shares(histories, kinds, tmp_path / "s.csv", tmp_path / "s.md")
    assert [r.name for r in rows] == ["sgt"]
    assert rows[0].scores["share_physics"] == pytest.approx(0.2) and rows[0].scores["seeds"] == 2
    table = pd.read_csv(tmp_path / "s.csv")
    assert table.loc[0, "share_mse"] == pytest.approx(0.8)
    assert "| sgt | model | 80.0 | 0.0 | 0.0 | 20.0 | 2 |" in (tmp_path / "s.md").read_text()
