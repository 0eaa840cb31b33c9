"""The loss weight chosen on validation: candidates, the choice from real metrics files, its use."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atmo.errors import ConfigError, InputError
from atmo.nowcast.loss_choice import (
    candidate_spec,
    check_loss_choice,
    choose,
    loss_choice_settings,
    with_chosen_weight,
    write_choice,
)

SPEC = {"arch": "sgt", "params": {"hidden_dim": 8}, "loss": {"csi_weight": 0.03, "physics_weight": 0.1}}


def _metrics(path: Path, best: float, monitor: str = "val_csi_m", mode: str = "max") -> Path:
    path.write_text(json.dumps({"best_value": best, "monitor": monitor, "monitor_mode": mode}))
    return path


def test_the_best_validation_score_wins_and_ties_go_to_the_first_value(tmp_path: Path) -> None:
    choice = loss_choice_settings({"values": [0.0, 0.3, 3.0], "applies_to": ["sgt"]})
    labels = list(choice.labels())
    assert labels == ["physics_weight_0", "physics_weight_0.3", "physics_weight_3"]
    files = {
        label: _metrics(tmp_path / f"{k}.json", best)
        for k, (label, best) in enumerate(zip(labels, [0.2, 0.3, 0.1], strict=True))
    }
    record = choose(files, choice)
    assert record["value"] == 0.3 and record["key"] == "physics_weight"
    assert record["candidates"]["physics_weight_3"] == {"value": 3.0, "best": 0.1}
    tied = {label: _metrics(tmp_path / f"t{k}.json", 0.5) for k, label in enumerate(reversed(labels))}
    assert choose(tied, choice)["value"] == 0.0
    lowest = {
        label: _metrics(tmp_path / f"m{k}.json", best, "val_loss", "min")
        for k, (label, best) in enumerate(zip(labels, [0.2, 0.3, 0.1], strict=True))
    }
    assert choose(lowest, choice)["value"] == 3.0


def test_a_candidate_without_a_validation_score_is_refused(tmp_path: Path) -> None:
    choice = loss_choice_settings({"values": [0.0, 1.0], "applies_to": ["sgt"]})
    files = {label: _metrics(tmp_path / f"{label}.json", 0.2, monitor="train_loss") for label in choice.labels()}
    with pytest.raises(InputError, match=r"physics_weight_0\.json"):
        choose(files, choice)


def test_candidates_and_chosen_entries_replace_only_the_chosen_weight(tmp_path: Path) -> None:
    choice = loss_choice_settings({"values": [0.0, 1.0], "applies_to": ["sgt"]})
    assert candidate_spec(choice, SPEC, 1.0)["loss"] == {"csi_weight": 0.03, "physics_weight": 1.0}
    write_choice(tmp_path / "choice.json", {"key": "physics_weight", "value": 3.0})
    chosen = with_chosen_weight(SPEC, tmp_path / "choice.json")
    assert (
        chosen == {**SPEC, "loss": {"csi_weight": 0.03, "physics_weight": 3.0}}
        and SPEC["loss"]["physics_weight"] == 0.1
    )


def test_block_and_names_are_checked() -> None:
    with pytest.raises(ConfigError, match="values"):
        loss_choice_settings({"values": [1.0], "applies_to": ["sgt"]})
    assert loss_choice_settings(None) is None
    choice = loss_choice_settings({"values": [0.0, 1.0], "applies_to": ["sgt", "sgt_typo"]})
    with pytest.raises(ConfigError, match="sgt_typo"):
        check_loss_choice(choice, {"sgt": SPEC})
