"""The whole nowcast experiment through the snakemake CLI on config/test.yaml (the shared executed run).

Every model and ablation was trained per seed, forecast the held-out test events like the baselines did,
was scored (with per-episode statistics), compared and tabulated; editing a seed list plans only its
jobs. Rerunning after a model edit is tested in test_training_resume.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from workflow_helpers import edit_config, load_config, planned_jobs, run_snakemake, table_page_jobs

from atmo.metrics.pooled import mean_csi
from atmo.metrics.unit_stats import read_unit_stats

pytestmark = pytest.mark.workflow


def test_nowcast_experiment_end_to_end(test_run: Path) -> None:
    block = load_config(test_run)["nowcast"]
    seeds = {name: [str(seed) for seed in spec.get("seeds", [0])] for name, spec in block["models"].items()}
    seeds |= {name: ["0"] for name in [*block["baselines"], "oracle"]}  # deterministic: one seed label
    assert sum(len(s) > 1 for s in seeds.values()) == 1  # config/test.yaml: one entry with 2 seeds
    results = test_run / "results/nowcast"

    # Forecasts cover exactly the test events, none of which was used for training or validation.
    split = pd.read_csv(results / "split.csv")
    test_events = set(split.loc[split["split"] == "test", "id"])
    seen_in_training = set(split.loc[split["split"] != "test", "id"])
    with h5py.File(results / "forecasts/sgt/seed0.h5") as forecast, h5py.File(results / "forecasts/sgt/seed1.h5") as f1:
        forecast_events = {e.decode() for e in forecast["event_id"][()]}
        assert forecast["forecast"].shape[1] == block["cache"]["frames_out"]
        assert not np.array_equal(forecast["forecast"][()], f1["forecast"][()])  # two seeds, two models
    assert forecast_events == test_events and not forecast_events & seen_in_training

    table = pd.read_csv(results / "scores.csv", dtype={"seed": str})
    assert sorted(zip(table["model"], table["seed"], strict=True)) == sorted((n, s) for n in seeds for s in seeds[n])
    csi_m = mean_csi(block["scoring"].get("thresholds", [16, 74, 133, 160, 181, 219]))
    for name, labels in seeds.items():
        for seed in labels:
            scores = json.loads((results / f"scores/{name}/seed{seed}.json").read_text())
            assert 0 <= scores["csi_74"] <= 1 and scores["mse"] > 0
            assert scores["n_leads"] == block["cache"]["frames_out"]
            # the unit statistics pool back to the score file's CSI-M
            units = read_unit_stats(results / f"scores/{name}/seed{seed}_units.csv")
            sums = units[list(csi_m.statistics)].sum().to_numpy(dtype=float)
            assert float(csi_m.formula(sums)) == scores["csi_m"], (name, seed)
    persistence = json.loads((results / "scores/persistence/seed0.json").read_text())
    assert persistence["lpips"] is None and "31 px" in persistence["lpips_reason"]  # 24-px test grid

    record = json.loads((results / "comparisons.json").read_text())
    assert record["units"] == "test episodes" and record["entries"]["sgt"]["seeds"] == ["0", "1"]
    assert record["headline"]["a"] == "sgt" and record["headline"]["b"] == record["best_baseline"]
    roles = {(r["a"], r["b"]): r["role"] for r in record["comparisons"]}
    assert roles[("sgt", "unet")] == roles[("sgt", "convlstm")] == "write-up"
    assert roles[("sgt_no_gnn", "sgt")] == "ablation"

    tables = [t for t in (results / "scores.md").read_text().split("\n\n") if t.startswith("| ")]
    unpooled, pooled, last_lead = tables
    rows = [line.split("|")[1].strip() for line in unpooled.splitlines()][2:]
    kinds = [block["models"].get(r, {}).get("kind", "oracle" if r == "oracle" else "model") for r in rows]
    order = {"model": 0, "ablation": 1, "oracle": 2}
    assert kinds == sorted(kinds, key=order.get) and kinds[-1] == "oracle", "ablations, then the oracle, last"
    assert all("oracle" not in (r["a"], r["b"]) for r in record["comparisons"])  # shown, never compared

    # the physics weight was chosen on validation and the listed entries trained with it
    choice = json.loads((results / "loss_choice.json").read_text())
    assert choice["value"] in block["loss_choice"]["values"] and choice["monitor"].startswith("val_")
    history = pd.read_csv(results / "models/sgt/seed0/history.csv")
    weight = history["train_weighted_physics"] / history["train_physics"]
    assert np.allclose(weight[history["train_physics"] > 0], choice["value"])
    untrained = pd.read_csv(results / "models/sgt_untrained/seed0/history.csv")
    assert untrained["epoch"].tolist() == [0] and "train_loss" not in untrained
    shares = pd.read_csv(results / "loss_shares.csv")
    share_columns = [c for c in shares.columns if c.startswith("share_")]
    assert "sgt_untrained" not in set(shares["name"]) and np.allclose(shares[share_columns].sum(axis=1), 1.0)
    sgt_row = unpooled.splitlines()[2 + rows.index("sgt")]
    mean, sd = record["entries"]["sgt"]["mean"], record["entries"]["sgt"]["sd"]
    headline = record["headline"]
    assert f"| {mean:.3f} ± {sd:.3f} | {headline['estimate']:+.3f} [" in sgt_row
    assert f"vs {headline['b']} | {headline['verdict']} | 2 |" in sgt_row
    assert "CSI-M P16" in pooled.splitlines()[0] and len(pooled.splitlines()) == len(unpooled.splitlines())
    last = block["cache"]["frames_out"]
    assert f"CSI-74 {5 * last} min" in last_lead.splitlines()[0] and len(last_lead.splitlines()) == len(rows) + 2
    assert f"CSI-M {5 * last} min Δ [95 % interval] | verdict |" in last_lead.splitlines()[0]
    for figure in ("csi_by_lead.png", "event_panel.png"):
        assert (results / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_editing_a_seed_list_adds_or_removes_only_those_jobs(test_run_copy: Path) -> None:
    args = ["--configfile", "config/test.yaml", "--cores", "2", "-n"]

    def planned() -> set[tuple[str, tuple[tuple[str, str], ...]]]:
        dry = run_snakemake(test_run_copy, args)
        return {(rule, tuple(sorted(w.items()))) for rule, w in planned_jobs(dry.stdout + dry.stderr)}

    downstream = {("comparisons", (("module", "nowcast"),)), ("nowcast_table", ()), ("summary", ()), ("all", ())}
    downstream.add(("nowcast_loss_shares", ()))
    downstream |= table_page_jobs("nowcast")
    edit_config(test_run_copy, lambda c: c["nowcast"]["models"]["unet"].update(seeds=[0, 3]))
    unet3 = (("name", "unet"), ("seed", "3"))
    assert planned() == {
        ("nowcast_train", (("model", "unet"), ("seed", "3"))),
        ("nowcast_forecast", unet3),
        ("nowcast_score", unet3),
        *downstream,
    }
    # dropping a seed trains nothing: only the comparisons and tables that listed it
    edit_config(test_run_copy, lambda c: c["nowcast"]["models"]["sgt"].update(seeds=[1]))
    edit_config(test_run_copy, lambda c: c["nowcast"]["models"]["unet"].update(seeds=[0]))
    assert planned() == downstream


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
