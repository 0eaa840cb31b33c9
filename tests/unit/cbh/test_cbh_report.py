"""The CBH report, rebuilt from prediction files, fold table and comparisons alone; the prediction file format."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error
from test_cbh_folds import make_table

from atmo.cbh.baselines import climatology
from atmo.cbh.comparison import plan, write_unit_statistics
from atmo.cbh.folds import ValidationSettings, fold_indices, make_folds, read_fold_table, write_fold_table
from atmo.cbh.predictions import COLUMNS, read_predictions, write_predictions
from atmo.cbh.results import (
    PROTOCOL,
    approach_report,
    pretraining_facts,
    seed_report,
    write_reports,
)
from atmo.errors import InputError
from atmo.metrics.paired import BootstrapSettings
from atmo.publish.comparisons import compare, read_comparisons, read_entries, write_comparisons

SIZES = {"30Oct24": 12, "10Feb25": 9, "12Feb25": 7}
SEED_FOLD_KEYS = {"fold_id", "test_flight", "n_train", "n_test", "r2", "mae_km", "rmse_km", "bias_km"}
SEED_AGGREGATE_KEYS = {"mean_r2", "std_r2", "mean_mae_km", "std_mae_km", "mean_rmse_km", "std_rmse_km"}
OVERALL_KEYS = {"r2_pooled", "r2_within_flight", "mean_abs_bias_km", "mean_bias_km"}
EXTRA = {"gbdt_pooled_r2": 0.9, "mae_pretraining": "strict", "validation_method": "fraction"}
KINDS = {"climatology": "baseline", "image_only": "model", "gbdt": "baseline", "concat": "model", "oracle": "oracle"}
SEEDS = {"climatology": ["0"], "image_only": ["0", "1"], "gbdt": ["0"], "concat": ["0"], "oracle": ["0"]}
ORACLE_OFFSET_KM = 0.01
WRITE_UP = [["concat", "image_only"]]


def make_inputs(root: Path, constant_flight: str | None = None) -> tuple[dict, Path]:
    """Fold table and prediction files of five approaches under ``root`` (image_only with two seeds).

    The oracle is the truth plus :data:`ORACLE_OFFSET_KM`: a lower MAE than any baseline, never compared.

        Returns ``({name: (kind, {seed: {fold_id: file}})}, fold table)``.
    """
    table = make_table(SIZES, seed=4)
    if constant_flight is not None:
        table.cbh_km[table.flight_index == list(SIZES).index(constant_flight)] = 1.25
    validation = ValidationSettings()
    folds = make_folds(table, validation)
    fold_table = root / "folds.csv"
    write_fold_table(fold_table, folds)
    rng = np.random.default_rng(0)
    approaches: dict[str, tuple[str, dict[str, dict[int, Path]]]] = {
        name: (kind, {seed: {} for seed in SEEDS[name]}) for name, kind in KINDS.items()
    }
    for fold in folds:
        split = fold_indices(table, fold, validation)
        truth = table.cbh_km[split["test"]]
        predictions = {
            ("climatology", "0"): climatology(table.cbh_km[split["train"]], len(truth)),
            ("image_only", "0"): truth + rng.normal(0, 0.3, len(truth)),
            ("image_only", "1"): truth + rng.normal(0.1, 0.4, len(truth)),
            ("gbdt", "0"): truth + rng.normal(0.2, 0.5, len(truth)),
            ("concat", "0"): truth.astype(np.float64),  # perfect
            ("oracle", "0"): truth + ORACLE_OFFSET_KM,
        }
        for (name, seed), pred in predictions.items():
            path = root / "predictions" / name / f"seed{seed}" / f"fold{fold.fold_id}.csv"
            write_predictions(
                path, sample=split["test"], flight=fold.test_flight, fold_id=fold.fold_id, cbh_km=truth, pred_km=pred
            )
            approaches[name][1][seed][fold.fold_id] = path
    return approaches, fold_table


def make_comparisons(root: Path, approaches: dict, fold_table: Path) -> Path:
    """``comparisons.json`` of the approaches' current prediction files, through the real unit statistics."""
    paths: dict[str, dict[str, Path]] = {}
    for name, (_, by_seed) in approaches.items():
        for seed, files in by_seed.items():
            path = root / "unit_stats" / name / f"seed{seed}.csv"
            write_unit_statistics(fold_table, list(files.values()), path)
            paths.setdefault(name, {})[seed] = path
    settings = {"headline": "concat", "write_up": WRITE_UP}
    record = compare(read_entries(paths, KINDS), plan(settings, BootstrapSettings(n_boot=300)))
    out = root / "comparisons.json"
    write_comparisons(record, out, root / "comparisons.md")
    return out


def _setup(root: Path, constant_flight: str | None = None) -> tuple[dict, Path, Path]:
    approaches, fold_table = make_inputs(root, constant_flight)
    return approaches, fold_table, make_comparisons(root, approaches, fold_table)


def _outputs(out: Path) -> dict:
    return {
        "json_dir": out / "reports",
        "all_json": out / "reports" / "WP4_Report_All.json",
        "markdown": out / "cbh_table.md",
        "long_csv": out / "cbh_scores_long.csv",
        "figure_scatter": out / "predicted_vs_measured.png",
        "figure_bars": out / "per_flight_scores.png",
    }


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip("|").split("|")]


def test_reports_hold_the_seed_format_and_metrics_match_sklearn(tmp_path: Path) -> None:
    approaches, fold_table, comparisons = _setup(tmp_path)
    outputs = _outputs(tmp_path / "out")
    text = write_reports(approaches, fold_table, comparisons, **outputs, extra=EXTRA)
    names = sorted(p.name for p in outputs["json_dir"].iterdir())
    assert names == [
        "Baseline_Report_climatology.json",
        "Oracle_Report_oracle.json",
        "WP3_Report_gbdt.json",
        "WP4_Report_All.json",
        "WP4_Report_concat.json",
        "WP4_Report_image_only.json",
    ]
    assert outputs["figure_scatter"].stat().st_size > 0 and outputs["figure_bars"].stat().st_size > 0
    folds = read_fold_table(fold_table)

    report = json.loads((outputs["json_dir"] / "WP4_Report_image_only.json").read_text())
    assert report["model_variant"] == "image_only" and report["validation_protocol"] == PROTOCOL
    assert report["seeds"] == ["0", "1"] and [set(r) for r in report["fold_results"]] == [SEED_FOLD_KEYS] * 3
    fold_means = {}
    for seed in ("0", "1"):
        own = report["per_seed"][seed]
        assert own["model_variant"] == "image_only" and set(own["aggregate_metrics"]) >= SEED_AGGREGATE_KEYS
        for result, fold in zip(own["fold_results"], folds, strict=True):
            p = read_predictions(approaches["image_only"][1][seed][fold.fold_id])
            assert (result["fold_id"], result["test_flight"]) == (fold.fold_id, fold.test_flight)
            assert (result["n_train"], result["n_test"]) == (fold.n_train, fold.n_test)
            assert result["r2"] == pytest.approx(r2_score(p.cbh_km, p.pred_km))
            assert result["mae_km"] == pytest.approx(mean_absolute_error(p.cbh_km, p.pred_km))
            assert result["rmse_km"] == pytest.approx(root_mean_squared_error(p.cbh_km, p.pred_km))
            assert result["bias_km"] == pytest.approx(np.mean(p.pred_km - p.cbh_km))
        fold_means[seed] = np.mean([r["mae_km"] for r in own["fold_results"]])
        assert own["aggregate_metrics"]["mean_mae_km"] == pytest.approx(fold_means[seed])
    # the top-level write-up format: each fold's metric averaged over the seeds, then over folds
    for i, result in enumerate(report["fold_results"]):
        expected = np.mean([report["per_seed"][s]["fold_results"][i]["mae_km"] for s in ("0", "1")])
        assert result["mae_km"] == pytest.approx(expected)
    aggregate = report["aggregate_metrics"]
    assert set(aggregate) >= SEED_AGGREGATE_KEYS and aggregate["n_seeds"] == 2
    assert aggregate["mean_mae_km"] == pytest.approx(np.mean(list(fold_means.values())))
    assert aggregate["sd_seeds_mean_mae_km"] == pytest.approx(np.std(list(fold_means.values()), ddof=1))
    assert aggregate["n_folds"] == aggregate["n_folds_r2"] == 3 and aggregate["r2_undefined_folds"] == []
    # the scores over all flights: each seed's own (checked against an independent computation), then the seed mean
    overall = {}
    for seed in ("0", "1"):
        own = report["per_seed"][seed]["aggregate_metrics"]
        frame = pd.concat([pd.read_csv(path) for path in approaches["image_only"][1][seed].values()])
        assert own["r2_pooled"] == pytest.approx(r2_score(frame["cbh_km"], frame["pred_km"]))
        demeaned = frame[["cbh_km", "pred_km"]] - frame.groupby("flight")[["cbh_km", "pred_km"]].transform("mean")
        assert own["r2_within_flight"] == pytest.approx(r2_score(demeaned["cbh_km"], demeaned["pred_km"]))
        biases = frame.assign(e=frame["pred_km"] - frame["cbh_km"]).groupby("flight")["e"].mean()
        assert own["mean_abs_bias_km"] == pytest.approx(biases.abs().mean())
        overall[seed] = own
    for key in ("r2_pooled", "r2_within_flight", "mean_abs_bias_km"):
        values = [overall[seed][key] for seed in ("0", "1")]
        assert aggregate[key] == pytest.approx(np.mean(values))
        assert aggregate[f"sd_seeds_{key}"] == pytest.approx(np.std(values, ddof=1))

    oracle = json.loads((outputs["json_dir"] / "Oracle_Report_oracle.json").read_text())
    assert set(oracle["aggregate_metrics"]) >= SEED_AGGREGATE_KEYS | OVERALL_KEYS
    assert oracle["aggregate_metrics"]["mean_bias_km"] == pytest.approx(ORACLE_OFFSET_KM)
    assert oracle["aggregate_metrics"]["r2_within_flight"] == pytest.approx(1.0)  # right up to an offset
    single = json.loads((outputs["json_dir"] / "WP3_Report_gbdt.json").read_text())
    assert single["fold_results"] == single["per_seed"]["0"]["fold_results"]
    assert single["aggregate_metrics"]["sd_seeds_mean_mae_km"] is None
    assert single["aggregate_metrics"]["pooled_kfold_r2"] == 0.9
    combined = json.loads(outputs["all_json"].read_text())
    assert set(combined["approaches"]) == set(approaches) and combined["extra"] == EXTRA
    assert combined["approaches"]["climatology"]["kind"] == "baseline"
    assert combined["approaches"]["climatology"]["report_file"] == "Baseline_Report_climatology.json"
    assert combined["approaches"]["oracle"]["kind"] == "oracle"
    assert combined["approaches"]["gbdt"]["fold_results"] == single["fold_results"]

    long = pd.read_csv(outputs["long_csv"], dtype={"seed": str})
    assert len(long) == sum(len(seeds) for seeds in SEEDS.values()) * len(folds)
    assert {"bias_km", "r2_pooled", "r2_within_flight"} <= set(long.columns)
    image_only = long[long["approach"] == "image_only"]
    assert sorted(set(image_only["seed"])) == ["0", "1"]
    for seed in ("0", "1"):
        of_seed = image_only[image_only["seed"] == seed]
        assert of_seed["mae_km"].mean() == pytest.approx(fold_means[seed])
        assert (of_seed["r2_pooled"] == overall[seed]["r2_pooled"]).all()  # the seed's, on each of its folds

    assert outputs["markdown"].read_text() == text
    lines = text.splitlines()
    header = _cells(lines[0])
    assert header[:6] == ["approach", "kind", "seeds", "MAE km", "MAE (km) Δ [95 % interval]", "verdict"]
    assert header[6:] == [
        "R² flight-mean",
        "R² pooled LOFO",
        "R² within-flight",
        "abs bias km",
        "RMSE km",
        "R² pooled k-fold",
    ]  # per-flight scores have tables of their own
    rows = {cells[0]: cells for cells in map(_cells, lines[2:7])}
    assert [_cells(line)[0] for line in lines[2:7]] == ["image_only", "concat", "climatology", "gbdt", "oracle"]
    assert rows["image_only"][header.index("R² pooled LOFO")] == (
        f"{aggregate['r2_pooled']:.3f} ± {aggregate['sd_seeds_r2_pooled']:.3f}"
    )
    assert rows["oracle"][header.index("abs bias km")] == f"{ORACLE_OFFSET_KM:.3f}"
    assert rows["image_only"][header.index("seeds")] == "2" and rows["gbdt"][header.index("seeds")] == "1"
    mean, sd = np.mean(list(fold_means.values())), np.std(list(fold_means.values()), ddof=1)
    assert rows["image_only"][header.index("MAE km")] == f"{mean:.3f} ± {sd:.3f}"
    assert rows["concat"][header.index("MAE km")] == "0.000"  # one seed: the mean alone
    pooled = header.index("R² pooled k-fold")
    assert rows["gbdt"][pooled] == "0.900" and rows["climatology"][pooled] == "n/a"
    record = read_comparisons(comparisons)
    best = record["best_baseline"]
    for name in ("image_only", "concat"):
        result = next(r for r in record["comparisons"] if r["a"] == name and r["b"] == best)
        assert rows[name][header.index("verdict")] == result["verdict"]
        assert rows[name][header.index("MAE (km) Δ [95 % interval]")].startswith(f"{result['estimate']:+.3f} [")
    assert rows["concat"][header.index("verdict")] == "beats"  # perfect predictions
    assert rows["gbdt"][header.index("verdict")] == "n/a"  # baselines are the opponents, not compared
    # the oracle has the lowest MAE of all but is shown last, never compared, never the best baseline
    assert best != "oracle" and record["entries"]["oracle"]["mean"] < record["entries"][best]["mean"]
    assert rows["oracle"][header.index("verdict")] == "n/a" and "oracle" not in {
        name for r in record["comparisons"] for name in (r["a"], r["b"])
    }
    for title in ("MAE km", "Bias km (predicted − measured)", "R²"):
        start = lines.index(f"{title} per test flight, mean over seeds:")
        assert _cells(lines[start + 2]) == ["approach", "kind", *(f"{f.test_flight} n={f.n_test}" for f in folds)]
    start = lines.index("Bias km (predicted − measured) per test flight, mean over seeds:")
    oracle_line = next(line for line in lines[start:] if line.startswith("| oracle |"))
    assert _cells(oracle_line)[2:] == [f"{ORACLE_OFFSET_KM:.3f}"] * len(folds)
    write_up = [line for line in lines if line.startswith("- write-up:")]
    assert len(write_up) == 1 and "`concat` beats `image_only`" in write_up[0]
    assert "- mae_pretraining: strict" in lines and "- validation_method: fraction" in lines
    assert not any(line.startswith("- gbdt_pooled_r2") for line in lines)  # shown in its column


def test_one_seed_approach_report_is_exactly_that_seeds_report(tmp_path: Path) -> None:
    approaches, fold_table = make_inputs(tmp_path)
    folds = read_fold_table(fold_table)
    files = approaches["image_only"][1]["1"]
    predictions = {k: read_predictions(p) for k, p in files.items()}
    own = seed_report("image_only", PROTOCOL, folds, predictions)
    merged = approach_report("image_only", PROTOCOL, folds, {"1": predictions})
    assert merged["fold_results"] == own["fold_results"]
    assert {k: merged["aggregate_metrics"][k] for k in own["aggregate_metrics"]} == own["aggregate_metrics"]


def test_constant_truth_fold_has_undefined_r2_left_out_of_the_aggregates(tmp_path: Path) -> None:
    approaches, fold_table, comparisons = _setup(tmp_path, constant_flight="12Feb25")
    outputs = _outputs(tmp_path / "out")
    text = write_reports(approaches, fold_table, comparisons, **outputs)
    report = json.loads((outputs["json_dir"] / "WP4_Report_image_only.json").read_text())
    assert report["fold_results"][2]["r2"] is None and report["fold_results"][2]["mae_km"] > 0
    aggregate = report["aggregate_metrics"]
    assert aggregate["n_folds_r2"] == 2 and aggregate["r2_undefined_folds"] == [2]
    assert aggregate["mean_r2"] == pytest.approx(np.mean([r["r2"] for r in report["fold_results"][:2]]))
    assert "R² undefined (constant measured height) on fold(s) [2]" in text
    assert "R² pooled k-fold" not in text  # no pooled score passed


def test_rerun_gives_identical_bytes(tmp_path: Path) -> None:
    approaches, fold_table, comparisons = _setup(tmp_path)
    first, second = _outputs(tmp_path / "a"), _outputs(tmp_path / "b")
    write_reports(approaches, fold_table, comparisons, **first, extra=EXTRA)
    write_reports(approaches, fold_table, comparisons, **second, extra=EXTRA)
    for key in ("all_json", "markdown", "long_csv", "figure_scatter", "figure_bars"):
        assert first[key].read_bytes() == second[key].read_bytes(), key


def _drop_fold(approaches: dict, root: Path) -> None:
    del approaches["gbdt"][1]["0"][1]


def _wrong_flight(approaches: dict, root: Path) -> None:
    path = approaches["gbdt"][1]["0"][0]
    path.write_text(path.read_text().replace("30Oct24", "10Feb25"))


def _other_samples(approaches: dict, root: Path) -> None:
    path = approaches["gbdt"][1]["0"][0]
    p = read_predictions(path)
    write_predictions(
        path, sample=p.sample + 100, flight=p.flight, fold_id=p.fold_id, cbh_km=p.cbh_km, pred_km=p.pred_km
    )


def _short_file(approaches: dict, root: Path) -> None:
    path = approaches["image_only"][1]["1"][2]
    path.write_text("\n".join(path.read_text().splitlines()[:-1]) + "\n")


def _nan_prediction(approaches: dict, root: Path) -> None:
    path = approaches["concat"][1]["0"][1]
    lines = path.read_text().splitlines()
    lines[1] = ",".join([*lines[1].split(",")[:-1], "nan"])
    path.write_text("\n".join(lines) + "\n")


def _other_truth(approaches: dict, root: Path) -> None:
    path = approaches["concat"][1]["0"][0]
    p = read_predictions(path)
    write_predictions(path, sample=p.sample, flight=p.flight, fold_id=p.fold_id, cbh_km=p.cbh_km + 1, pred_km=p.pred_km)


def _stale_comparisons(approaches: dict, root: Path) -> None:
    path = approaches["image_only"][1]["1"][0]
    p = read_predictions(path)
    write_predictions(path, sample=p.sample, flight=p.flight, fold_id=p.fold_id, cbh_km=p.cbh_km, pred_km=p.pred_km + 1)


def _seed_not_compared(approaches: dict, root: Path) -> None:
    approaches["concat"][1]["5"] = approaches["concat"][1]["0"]


@pytest.mark.parametrize(
    ("breaks", "message", "names_file"),
    [
        (_drop_fold, "approach 'gbdt' seed 0 has predictions for folds [0, 2]", "folds.csv"),
        (_wrong_flight, "expected only fold 0's test flight '30Oct24'", "gbdt/seed0/fold0.csv"),
        (_other_samples, "predicts other samples than approach", "gbdt/seed0/fold0.csv"),
        (_short_file, "predictions, fold 2 has n_test 7", "image_only/seed1/fold2.csv"),
        (_nan_prediction, "pred_km is not finite in row 1", "concat/seed0/fold1.csv"),
        (_other_truth, "measured cbh_km differs", "concat/seed0/fold0.csv"),
        (_stale_comparisons, "approach 'image_only': fold-mean MAE", "comparisons.json"),
        (_seed_not_compared, "approach 'concat': seeds ['0']", "comparisons.json"),
    ],
)
def test_bad_inputs_stop_before_any_output(tmp_path: Path, breaks, message: str, names_file: str) -> None:
    approaches, fold_table, comparisons = _setup(tmp_path)
    breaks(approaches, tmp_path)
    out = tmp_path / "out"
    with pytest.raises(InputError, match=re.escape(message)) as err:
        write_reports(approaches, fold_table, comparisons, **_outputs(out))
    assert err.value.path.endswith(names_file)
    assert not out.exists() or not any(out.rglob("*"))


def test_bad_arguments_raise_before_any_output(tmp_path: Path) -> None:
    approaches, fold_table, comparisons = _setup(tmp_path)
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="kind must be one of"):
        bad = {**approaches, "gbdt": ("ablation", approaches["gbdt"][1])}
        write_reports(bad, fold_table, comparisons, **_outputs(out))
    with pytest.raises(ValueError, match="not JSON"):
        write_reports(approaches, fold_table, comparisons, **_outputs(out), extra={"bad": object()})
    assert not out.exists() or not any(out.rglob("*"))


def test_seed_report_needs_every_fold(tmp_path: Path) -> None:
    approaches, fold_table = make_inputs(tmp_path)
    folds = read_fold_table(fold_table)
    predictions = {k: read_predictions(p) for k, p in approaches["gbdt"][1]["0"].items() if k != 1}
    with pytest.raises(ValueError, match=r"no predictions for folds \[1\]"):
        seed_report("gbdt", PROTOCOL, folds, predictions)


def test_prediction_files_round_trip_exactly(tmp_path: Path) -> None:
    path = tmp_path / "fold3.csv"
    truth = np.array([0.3, 1.1, 2.7], dtype=np.float32)
    pred = np.array([1 / 3, 1.0000000001, 2.0])
    write_predictions(path, sample=[5, 9, 7], flight="12Feb25", fold_id=3, cbh_km=truth, pred_km=pred)
    assert path.read_text().splitlines()[0] == ",".join(COLUMNS)
    p = read_predictions(path)
    np.testing.assert_array_equal(p.sample, [5, 9, 7])
    assert p.flight.tolist() == ["12Feb25"] * 3 and p.fold_id.tolist() == [3, 3, 3]
    np.testing.assert_array_equal(p.cbh_km, truth.astype(np.float64))
    np.testing.assert_array_equal(p.pred_km, pred)
    with pytest.raises(ValueError, match="differ in length"):
        write_predictions(path, sample=[1, 2], flight="a", fold_id=0, cbh_km=[1.0], pred_km=[1.0, 2.0])
    with pytest.raises(ValueError, match="not finite"):
        write_predictions(path, sample=[1], flight="a", fold_id=0, cbh_km=[1.0], pred_km=[np.nan])
    assert read_predictions(path).pred_km.tolist() == pred.tolist()  # a refused write left the file alone


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "cannot read predictions"),
        ("sample,flight,fold_id,cbh_km\n1,a,0,1.0\n", r"missing columns \['pred_km'\]"),
        ("sample,flight,fold_id,cbh_km,pred_km\n", "no predictions"),
        ("sample,flight,fold_id,cbh_km,pred_km\n1.5,a,0,1.0,1.0\n", "sample must hold integers"),
        ("sample,flight,fold_id,cbh_km,pred_km\n1,a,0,1.0,x\n", "line 2: pred_km 'x' is not a number"),
        ("sample,flight,fold_id,cbh_km,pred_km\n1,a,0,1.0,1.0\n1,a,0,2.0,1.0\n", "sample indices repeat"),
        ("sample,flight,fold_id,cbh_km,pred_km\n1,,0,1.0,1.0\n", "flight names must be non-empty"),
        ("sample,flight,fold_id,cbh_km,pred_km\n1,a,0,inf,1.0\n", "cbh_km is not finite"),
    ],
)
def test_bad_prediction_files_name_the_file(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "fold0.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=message) as err:
        read_predictions(path)
    assert err.value.path == str(path)
    with pytest.raises(InputError, match="cannot read predictions"):
        read_predictions(tmp_path / "missing.csv")


def test_pretraining_facts_say_how_many_frames_each_fold_trained_on_and_how_many_were_unlabelled() -> None:
    metrics = {
        "0": {"n_train_samples": 900, "n_train_unlabelled": 600, "n_val_samples": 300},
        "1": {"n_train_samples": 850, "n_train_unlabelled": 570, "n_val_samples": 280},
    }
    assert pretraining_facts(metrics) == {
        "mae_pretraining_frames_per_fold": "0: 900 (600 unlabelled, 300 validate), "
        "1: 850 (570 unlabelled, 280 validate)"
    }
