"""The whole nowcast experiment through the snakemake CLI on config/test.yaml (the shared executed run).

Every model and ablation was trained, forecast the held-out test events like the baselines did, was
scored and tabulated. Rerunning after a model edit is tested in test_training_resume.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pandas as pd
import pytest
from workflow_helpers import edit_config, load_config

pytestmark = pytest.mark.workflow


def test_nowcast_experiment_end_to_end(test_run: Path) -> None:
    block = load_config(test_run)["nowcast"]
    names = [*block["models"], *block["baselines"]]
    results = test_run / "results/nowcast"

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

    tables = [t for t in (results / "scores.md").read_text().split("\n\n") if t.startswith("| ")]
    unpooled, pooled, last_lead = tables
    rows = [line.split("|")[1].strip() for line in unpooled.splitlines()][2:]
    kinds = ["ablation" if block["models"].get(r, {}).get("kind") == "ablation" else "other" for r in rows]
    assert kinds == sorted(kinds, key=lambda k: k == "ablation"), "ablation rows must come last"
    assert "CSI-M P16" in pooled.splitlines()[0] and len(pooled.splitlines()) == len(unpooled.splitlines())
    last = block["cache"]["frames_out"]
    assert f"CSI-74 {5 * last} min" in last_lead.splitlines()[0] and len(last_lead.splitlines()) == len(rows) + 2
    for figure in ("csi_by_lead.png", "event_panel.png"):
        assert (results / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_thresholds_outside_vip_range_are_rejected(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["nowcast"]["scoring"].update(thresholds=[74, 300]))
    result = snakemake_in("-n", check=False)
    assert result.returncode != 0
    assert "invalid config: key 'nowcast.scoring.thresholds[1]'" in result.stdout + result.stderr
    assert not (workflow_dir / "results").exists()


def test_a_setting_the_model_refuses_stops_before_any_job(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["nowcast"]["models"]["unet"]["params"].update(base_channels=12))
    result = snakemake_in(check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-3000:]
    assert lines[0].startswith("invalid config: key 'nowcast.models.unet.params.base_channels': unet rejects it")
    assert "Traceback" not in result.stdout + result.stderr
    assert not (workflow_dir / "results").exists()
