"""The cbh experiment through the snakemake CLI on config/test.yaml: leave-one-flight-out end to end.

The shared executed run is read for the outputs; reruns after edits work on a copy of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from workflow_helpers import edit_config, load_config, planned_jobs, run_snakemake, table_page_jobs

pytestmark = pytest.mark.workflow

ARGS = ("--configfile", "config/test.yaml", "--cores", "2")
SEED_FOLD_KEYS = {"fold_id", "test_flight", "n_train", "n_test", "r2", "mae_km", "rmse_km"}


def _jobs(workdir: Path, *args: str) -> set[tuple[str, tuple]]:
    proc = run_snakemake(workdir, [*ARGS, *args])
    return {(rule, tuple(sorted(w.items()))) for rule, w in planned_jobs(proc.stdout + proc.stderr)}


def test_every_approach_is_scored_leave_one_flight_out(test_run: Path) -> None:
    block = load_config(test_run)["cbh"]
    flights = [flight["name"] for flight in block["flights"]]
    cbh = test_run / "results/cbh"
    folds = pd.read_csv(cbh / "folds.csv")
    assert folds["test_flight"].tolist() == flights
    approaches = [*block["models"], "climatology", "geometry", "gbdt"]
    for approach in approaches:
        for fold in folds.itertuples():
            predictions = pd.read_csv(cbh / f"predictions/{approach}/fold{fold.fold_id}.csv")
            assert set(predictions["flight"]) == {fold.test_flight}, (approach, fold.fold_id)
            assert len(predictions) == fold.n_test
    report = json.loads((cbh / "reports/WP4_Report_concat.json").read_text())
    assert report["model_variant"] == "concat"
    assert report["validation_protocol"] == "Leave-One-Flight-Out Cross-Validation"
    assert [r["test_flight"] for r in report["fold_results"]] == flights
    assert all(set(r) >= SEED_FOLD_KEYS for r in report["fold_results"])
    assert {"mean_r2", "std_r2", "mean_mae_km", "mean_rmse_km"} <= set(report["aggregate_metrics"])
    combined = json.loads((cbh / "reports/WP4_Report_All.json").read_text())
    assert set(combined["approaches"]) == set(approaches)
    assert combined["extra"]["mae_pretraining"] == "strict"
    for name in ("WP3_Report_gbdt.json", "Baseline_Report_climatology.json", "Baseline_Report_geometry.json"):
        assert json.loads((cbh / "reports" / name).read_text())["fold_results"]
    table = (cbh / "cbh_table.md").read_text()
    assert all(f"| {approach} |" in table for approach in approaches)
    for figure in ("predicted_vs_measured.png", "per_flight_scores.png"):
        assert (cbh / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_strict_pretraining_never_sees_the_test_flight(test_run: Path) -> None:
    folds = pd.read_csv(test_run / "results/cbh/folds.csv")
    for fold in folds.itertuples():
        model = test_run / f"results/cbh/mae/column/fold{fold.fold_id}/model.pt"
        meta = torch.load(model, weights_only=True)["meta"]
        assert meta["module"] == "cbh" and meta["arch"] == "mae" and meta["pretraining_fold"] == str(fold.fold_id)
        log = (test_run / f"results/logs/cbh/cbh_pretrain_mae/column/fold{fold.fold_id}.log").read_text()
        assert f"pretraining column for fold {fold.fold_id} on {fold.n_train} images ({fold.n_val} validate)" in log


def test_editing_one_variant_reruns_only_its_folds_and_the_report(test_run_copy: Path) -> None:
    wf = test_run_copy
    config = edit_config(wf, lambda c: c["cbh"]["models"]["concat"]["params"].update(physical_hidden=4))
    folds = range(len(config["cbh"]["flights"]))
    expected = {("cbh_train", (("fold", str(k)), ("variant", "concat"))) for k in folds}
    assert _jobs(wf) == expected | {("cbh_report", ()), ("summary", ()), ("all", ())} | table_page_jobs("cbh")


def test_editing_the_mae_reruns_pretraining_and_every_wp4_job_but_not_wp3(test_run_copy: Path) -> None:
    wf = test_run_copy
    config = edit_config(wf, lambda c: c["cbh"]["mae"]["encoders"]["column"]["params"].update(decoder_dim=12))
    jobs = _jobs(wf)
    rules = {rule for rule, _ in jobs}
    n_folds, n_variants = len(config["cbh"]["flights"]), len(config["cbh"]["models"])
    assert rules == {"cbh_pretrain_mae", "cbh_train", "cbh_report", "report_table_page", "summary", "all"}, rules
    assert sum(rule == "cbh_pretrain_mae" for rule, _ in jobs) == n_folds
    assert sum(rule == "cbh_train" for rule, _ in jobs) == n_folds * n_variants


def test_fewer_than_two_flights_is_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["cbh"].update(flights=c["cbh"]["flights"][:1]))
    result = snakemake_in("-n", check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert result.returncode != 0 and len(lines) == 1 and "'cbh.flights'" in lines[0], result.stderr[-2000:]


def test_a_variant_naming_a_missing_encoder_is_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["cbh"]["models"]["concat"].update(encoder="nope"))
    result = snakemake_in("-n", check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("invalid config: key 'cbh.models.concat.encoder': 'nope' is not an entry")
