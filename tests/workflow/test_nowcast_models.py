"""The whole nowcast experiment through the snakemake CLI on config/test.yaml.

Trains every model and ablation, forecasts the held-out test events with them and the baselines,
scores them and builds the table; then checks that a changed model setting retrains only that model.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import h5py
import pandas as pd
import pytest
import yaml

pytestmark = pytest.mark.workflow

RULE_LINE = re.compile(r"^(?:local)?rule (\w+):\n(?:.*\n)*?    wildcards: (.*)$", re.MULTILINE)
NOWCAST_ONLY = "modules=[nowcast]"


def test_nowcast_experiment_end_to_end(workflow_dir: Path, snakemake_in) -> None:
    snakemake_in("--config", NOWCAST_ONLY)
    block = yaml.safe_load((workflow_dir / "config/test.yaml").read_text())["nowcast"]
    names = [*block["models"], *block["baselines"]]
    results = workflow_dir / "results/nowcast"

    # Forecasts cover exactly the test events, none of which was used for training or validation.
    split = pd.read_csv(results / "split.csv")
    test_events = set(split.loc[split["split"] == "test", "id"])
    seen_in_training = set(split.loc[split["split"] != "test", "id"])
    with h5py.File(results / "forecasts/sgt.h5") as forecast:
        forecast_events = {e.decode() for e in forecast["event_id"][()]}
        assert forecast["forecast"].shape[1] == block["cache"]["frames_out"]
    assert forecast_events == test_events and not forecast_events & seen_in_training

    table = pd.read_csv(results / "scores.csv")
    assert sorted(table["model"]) == sorted(names)
    for name in names:
        scores = json.loads((results / f"scores/{name}.json").read_text())
        assert 0 <= scores["csi_74"] <= 1 and scores["mse"] > 0
        assert scores["n_leads"] == block["cache"]["frames_out"]
    persistence = json.loads((results / "scores/persistence.json").read_text())
    assert persistence["lpips"] is None and "31 px" in persistence["lpips_reason"]  # 24-px test grid

    markdown = (results / "scores.md").read_text()
    rows = [line.split("|")[1].strip() for line in markdown.splitlines() if line.startswith("| ")][2:]
    kinds = ["ablation" if block["models"].get(r, {}).get("kind") == "ablation" else "other" for r in rows]
    assert kinds == sorted(kinds, key=lambda k: k == "ablation"), "ablation rows must come last"
    for figure in ("csi_by_lead.png", "event_panel.png"):
        assert (results / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    # Editing one model's settings retrains that model only (and rescores it, and rebuilds the table).
    config_path = workflow_dir / "config/test.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["nowcast"]["models"]["unet"]["params"]["base_channels"] = 6
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    dry_run = snakemake_in("-n", "--config", NOWCAST_ONLY).stdout
    stale = {(rule, wildcards) for rule, wildcards in RULE_LINE.findall(dry_run)}
    rules = {rule for rule, _ in stale} | set(re.findall(r"^(?:local)?rule (\w+):", dry_run, re.MULTILINE))
    assert rules - {"all"} == {"nowcast_train", "nowcast_forecast", "nowcast_score", "nowcast_table"}
    assert {w for r, w in stale if r != "nowcast_table"} <= {"model=unet", "name=unet"}


def test_thresholds_outside_vip_range_are_rejected(workflow_dir: Path, snakemake_in) -> None:
    config_path = workflow_dir / "config/test.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["nowcast"]["scoring"]["thresholds"] = [74, 300]
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))
    result = snakemake_in("-n", check=False)
    assert result.returncode != 0
    assert "invalid config: key 'nowcast.scoring.thresholds[1]'" in result.stdout + result.stderr
    assert not (workflow_dir / "results").exists()
