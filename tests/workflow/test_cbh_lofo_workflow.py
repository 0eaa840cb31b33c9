"""The cbh experiment through the snakemake CLI on config/test.yaml: leave-one-flight-out end to end.

The shared executed run is read for the outputs; reruns after edits work on a copy of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import torch
from workflow_helpers import edit_config, load_config, planned_rerun, table_page_jobs

pytestmark = pytest.mark.workflow

ARGS = ("--configfile", "config/test.yaml", "--cores", "2")
SEED_FOLD_KEYS = {"fold_id", "test_flight", "n_train", "n_test", "r2", "mae_km", "rmse_km"}
BASELINES = ("climatology", "lcl", "geometry", "geometry_calibrated", "ridge", "gbdt")
ORACLES = ("oracle",)  # test.yaml is synthetic: the generator's noiseless cloud base


def test_every_approach_is_scored_leave_one_flight_out(test_run: Path) -> None:
    block = load_config(test_run)["cbh"]
    flights = [flight["name"] for flight in block["flights"]]
    cbh = test_run / "results/cbh"
    folds = pd.read_csv(cbh / "folds.csv")
    assert folds["test_flight"].tolist() == flights
    seeds = {name: [str(s) for s in spec.get("seeds", [0])] for name, spec in block["models"].items()}
    seeds.update({name: ["0"] for name in (*BASELINES, *ORACLES)})
    approaches = list(seeds)
    for approach in approaches:
        for seed in seeds[approach]:
            folder = f"{approach}/seed{seed}" if approach in block["models"] else approach
            for fold in folds.itertuples():
                predictions = pd.read_csv(cbh / f"predictions/{folder}/fold{fold.fold_id}.csv")
                assert set(predictions["flight"]) == {fold.test_flight}, (approach, fold.fold_id)
                assert len(predictions) == fold.n_test
            units = pd.read_csv(cbh / f"unit_stats/{approach}/seed{seed}.csv")
            assert list(dict.fromkeys(units["unit"])) == flights and len(units) == folds["n_test"].sum()
    comparisons = json.loads((cbh / "comparisons.json").read_text())
    assert {name: entry["seeds"] for name, entry in comparisons["entries"].items()} == seeds
    assert comparisons["metric"] == "mae_km" and comparisons["n_units"] == len(flights)
    headline = comparisons["headline"]
    assert headline["a"] == block["comparison"]["headline"] and headline["b"] == comparisons["best_baseline"]
    # the best baseline has the lowest fold-mean MAE of the baselines; the oracle is scored, never compared
    baseline_mae = {name: comparisons["entries"][name]["mean"] for name in BASELINES}
    assert comparisons["best_baseline"] == min(baseline_mae, key=baseline_mae.get)
    assert comparisons["entries"]["oracle"]["kind"] == "oracle"
    assert all("oracle" not in (r["a"], r["b"]) for r in comparisons["comparisons"])
    write_up = [[r["a"], r["b"]] for r in comparisons["comparisons"] if r["role"] == "write-up"]
    assert write_up == block["comparison"]["write_up"]
    two_seeds = next(name for name, labels in seeds.items() if len(labels) == 2)
    report = json.loads((cbh / f"reports/WP4_Report_{two_seeds}.json").read_text())
    assert report["seeds"] == seeds[two_seeds] and set(report["per_seed"]) == set(seeds[two_seeds])
    per_seed = [report["per_seed"][s]["aggregate_metrics"]["mean_mae_km"] for s in seeds[two_seeds]]
    assert report["aggregate_metrics"]["mean_mae_km"] == pytest.approx(sum(per_seed) / 2)
    assert comparisons["entries"][two_seeds]["mean"] == pytest.approx(sum(per_seed) / 2)
    long = pd.read_csv(cbh / "cbh_scores_long.csv")
    assert len(long) == sum(len(labels) for labels in seeds.values()) * len(flights)
    report = json.loads((cbh / "reports/WP4_Report_concat.json").read_text())
    assert report["model_variant"] == "concat"
    assert report["validation_protocol"] == "Leave-One-Flight-Out Cross-Validation"
    assert [r["test_flight"] for r in report["fold_results"]] == flights
    assert all(set(r) >= SEED_FOLD_KEYS for r in report["fold_results"])
    assert {"mean_r2", "std_r2", "mean_mae_km", "mean_rmse_km"} <= set(report["aggregate_metrics"])
    combined = json.loads((cbh / "reports/WP4_Report_All.json").read_text())
    assert set(combined["approaches"]) == set(approaches)
    assert combined["extra"]["mae_pretraining"] == "strict"
    reports = ["WP3_Report_gbdt.json", "Oracle_Report_oracle.json"]
    reports += [f"Baseline_Report_{name}.json" for name in BASELINES if name != "gbdt"]
    for name in reports:
        report = json.loads((cbh / "reports" / name).read_text())
        assert report["fold_results"] and {"r2_pooled", "r2_within_flight"} <= set(report["aggregate_metrics"])
    ridge = [json.loads((cbh / f"ridge/fold{k}.json").read_text()) for k in folds["fold_id"]]
    alphas = block["ridge"]["alphas"]
    # two flights: one training flight per fold, so the penalty is chosen on its validation split
    assert all(r["alpha"] in alphas and r["inner"] == "validation" for r in ridge)
    table = (cbh / "cbh_table.md").read_text()
    assert all(f"| {approach} |" in table for approach in approaches)
    rows = [line.split(" | ")[0].lstrip("| ") for line in table.splitlines()[2 : 2 + len(approaches)]]
    assert rows[-1] == "oracle"  # shown last
    row = next(line for line in table.splitlines() if line.startswith(f"| {two_seeds} |"))
    assert " ± " in row and f"vs {comparisons['best_baseline']}" in row  # mean ± sd over seeds, the interval
    assert any(verdict in row for verdict in ("beats", "loses", "does not separate"))
    for figure in ("predicted_vs_measured.png", "per_flight_scores.png"):
        assert (cbh / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_strict_pretraining_never_sees_the_test_flight_and_follows_the_seed(test_run: Path) -> None:
    folds = pd.read_csv(test_run / "results/cbh/folds.csv")
    seeds = sorted(
        {seed for spec in load_config(test_run)["cbh"]["models"].values() for seed in spec.get("seeds", [0])}
    )
    assert len(seeds) == 2
    for seed in seeds:
        for fold in folds.itertuples():
            model = test_run / f"results/cbh/mae/column/seed{seed}/fold{fold.fold_id}/model.pt"
            meta = torch.load(model, weights_only=True)["meta"]
            assert meta["module"] == "cbh" and meta["arch"] == "mae" and meta["pretraining_fold"] == str(fold.fold_id)
            assert meta["seed"] == seed
            log = (test_run / f"results/logs/cbh/cbh_pretrain_mae/column/seed{seed}/fold{fold.fold_id}.log").read_text()
            counts = json.loads(model.with_name("metrics.json").read_text())
            frames = f"on {counts['n_train_samples']} frames ({counts['n_train_unlabelled']} of them unlabelled; "
            assert f"pretraining column for fold {fold.fold_id} {frames}{fold.n_val} validate), seed {seed}" in log
            # every labelled training sample, and the unlabelled frames of the training flights besides
            assert counts["n_train_samples"] == fold.n_train + counts["n_train_unlabelled"] > fold.n_train
    # two seeds of one variant: different encoders, different weights, different predictions
    weights = [
        torch.load(test_run / f"results/cbh/mae/column/seed{seed}/fold0/model.pt", weights_only=True)["model"]
        for seed in seeds
    ]
    assert any(not torch.equal(weights[0][key], weights[1][key]) for key in weights[0])


def _after_scores() -> set[tuple[str, tuple]]:
    """The jobs after any change of a score: the comparisons, the report, the summary and the table pages."""
    pages = table_page_jobs("cbh") | {("report_table_page", (("module", "cbh"), ("name", "comparisons")))}
    return {("comparisons", (("module", "cbh"),)), ("cbh_results", ()), ("summary", ()), ("all", ())} | pages


def _train(variant: str, seed: int, fold: int) -> tuple[str, tuple]:
    return ("cbh_train", (("fold", str(fold)), ("seed", str(seed)), ("variant", variant)))


def _unit_stats(approach: str, seed: int) -> tuple[str, tuple]:
    return ("cbh_unit_stats", (("approach", approach), ("seed", str(seed))))


def test_editing_one_variant_reruns_only_its_folds_and_the_report(test_run_copy: Path) -> None:
    wf = test_run_copy
    config = edit_config(wf, lambda c: c["cbh"]["models"]["concat"]["params"].update(physical_hidden=4))
    folds = range(len(config["cbh"]["flights"]))
    expected = {_train("concat", 0, k) for k in folds} | {_unit_stats("concat", 0)}
    assert planned_rerun(wf) == expected | _after_scores()


def test_editing_a_seed_list_adds_or_removes_only_those_jobs(test_run_copy: Path) -> None:
    wf = test_run_copy

    def add_seeds(config: dict) -> None:
        models = config["cbh"]["models"]
        models["concat"]["seeds"] = [0, 1]  # seed 1's encoders exist (image_only trains with it)
        models["attention"]["seeds"] = [0, 5]  # seed 5 needs its own encoders

    config = edit_config(wf, add_seeds)
    folds = range(len(config["cbh"]["flights"]))
    pretrain = {("cbh_pretrain_mae", (("encoder", "column"), ("pretrain_fold", str(k)), ("seed", "5"))) for k in folds}
    train = {_train("concat", 1, k) for k in folds} | {_train("attention", 5, k) for k in folds}
    expected = pretrain | train | {_unit_stats("concat", 1), _unit_stats("attention", 5)}
    assert planned_rerun(wf) == expected | _after_scores()
    edit_config(wf, lambda c: c["cbh"]["models"]["image_only"].update(seeds=[0]))  # and the others back
    edit_config(wf, lambda c: [c["cbh"]["models"][m].pop("seeds") for m in ("concat", "attention")])
    assert planned_rerun(wf) == _after_scores()  # one seed fewer: nothing trains, the comparisons drop it


def test_editing_the_mae_reruns_pretraining_and_every_wp4_job_but_not_wp3(test_run_copy: Path) -> None:
    wf = test_run_copy
    config = edit_config(wf, lambda c: c["cbh"]["mae"]["encoders"]["column"]["params"].update(decoder_dim=12))
    jobs = planned_rerun(wf)
    rules = {rule for rule, _ in jobs}
    n_folds = len(config["cbh"]["flights"])
    seeds = [spec.get("seeds", [0]) for spec in config["cbh"]["models"].values()]
    expected = {"cbh_pretrain_mae", "cbh_train", "cbh_unit_stats", "comparisons", "cbh_results"}
    assert rules == expected | {"report_table_page", "summary", "all"}, rules
    assert sum(rule == "cbh_pretrain_mae" for rule, _ in jobs) == n_folds * len({s for ss in seeds for s in ss})
    assert sum(rule == "cbh_train" for rule, _ in jobs) == n_folds * sum(map(len, seeds))
    assert sum(rule == "cbh_unit_stats" for rule, _ in jobs) == sum(map(len, seeds))  # models only, not the trees


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
