"""CBH comparisons: the per-sample unit statistics, their fold-mean MAE, the plan, and the config it reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from test_cbh_report import KINDS, make_inputs

from atmo.cbh.approaches import (
    approach_kinds,
    approach_seeds,
    check_comparison,
    check_model_names,
    comparison_settings,
    encoder_seeds,
)
from atmo.cbh.comparison import METRIC, UNIT_NAME, plan, write_unit_statistics
from atmo.cbh.folds import read_fold_table
from atmo.cbh.predictions import read_predictions
from atmo.cbh.results import PROTOCOL, seed_report
from atmo.errors import ConfigError, InputError
from atmo.metrics.paired import BootstrapSettings, seed_scores
from atmo.metrics.unit_stats import read_unit_stats
from atmo.publish.comparisons import VS_BEST_BASELINE, WRITE_UP, compare, read_entries


def _unit_stats(root: Path) -> tuple[dict, Path, dict[str, dict[str, Path]]]:
    approaches, fold_table = make_inputs(root)
    paths: dict[str, dict[str, Path]] = {}
    for name, (_, by_seed) in approaches.items():
        for seed, files in by_seed.items():
            path = root / "unit_stats" / name / f"seed{seed}.csv"
            # reversed: the table's order comes from the folds, not from the order the files arrive in
            write_unit_statistics(fold_table, list(reversed(files.values())), path)
            paths.setdefault(name, {})[seed] = path
    return approaches, fold_table, paths


def test_unit_mean_of_the_unit_statistics_is_the_reports_fold_mean_mae(tmp_path: Path) -> None:
    approaches, fold_table, paths = _unit_stats(tmp_path)
    folds = read_fold_table(fold_table)
    assert METRIC.pooling == "unit_mean" and not METRIC.higher_is_better
    for name, (_, by_seed) in approaches.items():
        for seed, files in by_seed.items():
            table = read_unit_stats(paths[name][seed])
            predictions = {k: read_predictions(p) for k, p in files.items()}
            fold_mean = seed_report(name, PROTOCOL, folds, predictions)["aggregate_metrics"]["mean_mae_km"]
            assert seed_scores([table], METRIC)[0] == pytest.approx(fold_mean, rel=1e-12)
    # the flights differ in size, so a pooled MAE (every sample once) would be another number
    table = read_unit_stats(paths["image_only"]["0"])
    pooled = table["abs_error_km"].sum() / table["n"].sum()
    assert abs(pooled - seed_scores([table], METRIC)[0]) > 1e-3


def test_unit_tables_list_flights_in_fold_order_and_samples_in_order(tmp_path: Path) -> None:
    approaches, fold_table, paths = _unit_stats(tmp_path)
    folds = read_fold_table(fold_table)
    tables = [read_unit_stats(path) for by_seed in paths.values() for path in by_seed.values()]
    first = tables[0]
    assert list(first.columns) == ["unit", "item", "abs_error_km", "n"]
    assert list(dict.fromkeys(first["unit"])) == [fold.test_flight for fold in folds]
    assert (first["n"] == 1).all() and len(first) == sum(fold.n_test for fold in folds)
    for fold in folds:
        items = first.loc[first["unit"] == fold.test_flight, "item"].astype(int).tolist()
        assert items == sorted(items)
    for table in tables[1:]:  # paired: every approach and seed lists the same rows
        assert table[["unit", "item"]].equals(first[["unit", "item"]])
    p = read_predictions(approaches["gbdt"][1]["0"][0])
    rows = read_unit_stats(paths["gbdt"]["0"]).set_index("item")
    for sample, truth, pred in zip(p.sample, p.cbh_km, p.pred_km, strict=True):
        assert rows.loc[str(sample), "abs_error_km"] == pytest.approx(abs(pred - truth))


def test_unit_statistics_refuse_a_missing_or_repeated_fold(tmp_path: Path) -> None:
    approaches, fold_table = make_inputs(tmp_path)
    files = approaches["concat"][1]["0"]
    out = tmp_path / "unit_stats.csv"
    with pytest.raises(InputError, match=re.escape("no predictions for folds [1]")) as err:
        write_unit_statistics(fold_table, [files[0], files[2]], out)
    assert err.value.path.endswith("folds.csv")
    with pytest.raises(InputError, match="fold 0 has two prediction files"):
        write_unit_statistics(fold_table, [files[0], files[1], files[2], files[0]], out)
    files[1].write_text(files[1].read_text().replace("10Feb25", "30Oct24"))
    with pytest.raises(InputError, match="expected only fold 1's test flight"):
        write_unit_statistics(fold_table, list(files.values()), out)
    assert not out.exists()


def test_plan_compares_every_model_with_the_best_baseline_and_the_write_up_pairs(tmp_path: Path) -> None:
    _, _, paths = _unit_stats(tmp_path)
    settings = {"headline": "image_only", "write_up": [["concat", "image_only"], ["concat", "absent"]]}
    the_plan = plan(settings, BootstrapSettings(n_boot=200, seed=3))
    assert the_plan.metric is METRIC and the_plan.unit_name == UNIT_NAME
    assert the_plan.resampling.scheme == "units_and_items" and the_plan.resampling.n_boot == 200
    assert the_plan.ablations == {} and the_plan.headline == "image_only"
    record = compare(read_entries(paths, KINDS), the_plan)
    best = record["best_baseline"]
    means = {name: entry["mean"] for name, entry in record["entries"].items()}
    assert best == min(("climatology", "gbdt"), key=lambda name: means[name])
    assert means["oracle"] < means[best]  # the oracle is better than every baseline, and still not the best one
    roles = [(r["a"], r["b"], r["role"]) for r in record["comparisons"]]
    assert roles == [
        ("image_only", best, VS_BEST_BASELINE),
        ("concat", best, VS_BEST_BASELINE),
        ("concat", "image_only", WRITE_UP),
    ]
    assert record["headline"]["a"] == "image_only" and record["headline"]["b"] == best
    assert record["n_units"] == 3 and record["entries"]["image_only"]["seeds"] == ["0", "1"]
    fusion = record["comparisons"][2]
    assert fusion["estimate"] == pytest.approx(means["concat"] - means["image_only"])
    assert fusion["verdict"] == "beats" and fusion["high"] < 0  # concat is perfect: lower MAE


MODELS = {
    "image_only": {"arch": "image_only", "seeds": [2, 0, 1]},
    "attention": {"arch": "attention", "seeds": [0]},
    "concat_grid": {"arch": "concat", "encoder": "grid"},
}
BLOCK = {"models": MODELS, "mae": {"encoders": {"column": {}, "grid": {}, "unused": {}}}}


def test_approaches_seeds_and_encoder_seeds_follow_the_models() -> None:
    baselines = ("climatology", "lcl", "geometry", "geometry_calibrated", "ridge", "gbdt")
    models = {"image_only": "model", "attention": "model", "concat_grid": "model"}
    assert approach_kinds(BLOCK) == {**models, **dict.fromkeys(baselines, "baseline"), "oracle": "oracle"}
    assert list(approach_kinds({**BLOCK, "source": "local"})) == [*models, *baselines]  # campaign files: no oracle
    seeds = approach_seeds(BLOCK)
    assert seeds["image_only"] == ["2", "0", "1"] and seeds["concat_grid"] == ["0"] and seeds["gbdt"] == ["0"]
    assert seeds["oracle"] == seeds["ridge"] == ["0"]
    assert encoder_seeds(BLOCK) == {"column": ["0", "1", "2"], "grid": ["0"], "unused": []}


def test_comparison_settings_and_their_checks() -> None:
    block = {**BLOCK, "comparison": {"headline": "attention", "write_up": [("attention", "image_only")]}}
    assert comparison_settings(block) == {"headline": "attention", "write_up": [["attention", "image_only"]]}
    check_comparison(block)
    check_comparison({**BLOCK, "comparison": {"headline": "attention", "write_up": [["attention", "geometry"]]}})
    bad = [
        ({"headline": "geometry"}, "key 'cbh.comparison.headline': 'geometry' is not one of ['attention'"),
        ({"headline": "attention", "write_up": [["attention", "nope"]]}, "write_up[0]': 'nope' is not one of"),
        ({"headline": "attention", "write_up": [["gbdt", "gbdt"]]}, "write_up[0]': 'gbdt' against itself"),
        ({"headline": "attention", "write_up": [["attention", "oracle"]]}, "write_up[0]': 'oracle' is not one of"),
    ]
    for comparison, message in bad:
        with pytest.raises(ConfigError, match=re.escape(message)):
            check_comparison({**BLOCK, "comparison": comparison})


def test_a_model_may_not_take_a_baseline_or_oracle_name() -> None:
    check_model_names(BLOCK)
    for name in ("ridge", "oracle"):
        with pytest.raises(ConfigError, match=re.escape(f"key 'cbh.models.{name}': the name of a baseline or oracle")):
            check_model_names({**BLOCK, "models": {**MODELS, name: {"arch": "concat"}}})
