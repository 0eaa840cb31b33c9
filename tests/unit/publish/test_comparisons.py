"""An experiment's comparisons: which pairs, oracle rows never compared, files, table columns, the summary line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.metrics.paired import BootstrapSettings, Resampling
from atmo.metrics.pooled import ratio
from atmo.metrics.unit_stats import read_unit_stats, write_unit_stats
from atmo.publish import Row, markdown_table
from atmo.publish.comparisons import (
    ABLATION,
    VS_BEST_BASELINE,
    WRITE_UP,
    Entry,
    Plan,
    compare,
    interval_columns,
    mean_sd_column,
    read_comparisons,
    read_entries,
    seed_rows,
    write_comparisons,
)
from atmo.summary.headlines import from_comparisons

MAE = ratio("mae_km", "MAE (km)", "abs_error_km", "n", higher_is_better=False)
UNITS = [f"f{i}" for i in range(12)]


def _table(level: float, rng: np.random.Generator) -> pd.DataFrame:
    return pd.DataFrame({"unit": UNITS, "abs_error_km": level + rng.normal(0, 0.02, len(UNITS)), "n": 1.0})


def _entries() -> list[Entry]:
    rng = np.random.default_rng(0)
    return [
        Entry("model", "model", {str(s): _table(0.20, rng) for s in range(3)}),
        Entry("weak", "model", {str(s): _table(0.41, rng) for s in range(3)}),
        Entry("no_part", "ablation", {str(s): _table(0.201, rng) for s in range(3)}),
        Entry("climatology", "baseline", {"0": _table(0.50, rng)}),
        Entry("geometry", "baseline", {"0": _table(0.40, rng)}),
        Entry("oracle", "oracle", {"0": _table(0.01, rng)}),
    ]


def _plan() -> Plan:
    return Plan(
        MAE,
        Resampling(settings=BootstrapSettings(n_boot=500)),
        "test flights",
        headline="model",
        ablations={"no_part": "model"},
        write_up=[("model", "weak")],
    )


def test_models_face_the_best_baseline_ablations_their_full_model_and_oracles_nobody() -> None:
    record = compare(_entries(), _plan())
    assert record["best_baseline"] == "geometry"  # lower MAE than climatology
    pairs = [(r["a"], r["b"], r["role"]) for r in record["comparisons"]]
    assert pairs == [
        ("model", "geometry", VS_BEST_BASELINE),
        ("weak", "geometry", VS_BEST_BASELINE),
        ("no_part", "model", ABLATION),
        ("model", "weak", WRITE_UP),
    ]
    assert all("oracle" not in (a, b) for a, b, _ in pairs)
    assert record["entries"]["oracle"]["mean"] == pytest.approx(0.01, abs=0.01)
    verdicts = {(r["a"], r["b"]): r["verdict"] for r in record["comparisons"]}
    assert verdicts[("model", "geometry")] == "beats"
    assert verdicts[("weak", "geometry")] == "loses"
    assert verdicts[("no_part", "model")] == "does not separate"
    assert record["headline"]["a"] == "model" and record["headline"]["b"] == "geometry"
    model = record["entries"]["model"]
    assert model["seeds"] == ["0", "1", "2"] and model["sd"] > 0
    assert model["mean"] == pytest.approx(np.mean(list(model["per_seed"].values())))


def test_the_comparisons_files_round_trip_and_the_summary_reads_its_verdict_line(tmp_path: Path) -> None:
    record = compare(_entries(), _plan())
    write_comparisons(record, tmp_path / "comparisons.json", tmp_path / "comparisons.md")
    assert read_comparisons(tmp_path / "comparisons.json")["headline"] == json.loads(json.dumps(record["headline"]))
    text = (tmp_path / "comparisons.md").read_text()
    assert "| model − geometry | vs best baseline |" in text and "| beats |" in text
    headline = from_comparisons("cbh", tmp_path / "comparisons.json")
    h = record["headline"]
    assert headline.verdict.startswith("`model` beats `geometry` on MAE (km): model − geometry = ")
    assert (
        f"[{h['low']:+.3f}, {h['high']:+.3f}]" in headline.verdict
        and "12 test flights (3 vs 1 seeds)" in headline.verdict
    )
    table = headline.markdown()
    assert table.index("| model |") < table.index("| geometry |") < table.index("| oracle |")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(InputError, match=r"bad\.json: not a comparisons JSON"):
        read_comparisons(tmp_path / "bad.json")


def test_entries_read_from_unit_statistics_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    paths = {}
    for name, seeds in (("model", ("0", "1")), ("geometry", ("0",))):
        paths[name] = {}
        for seed in seeds:
            path = tmp_path / f"{name}_{seed}.csv"
            write_unit_stats(path, _table(0.3, rng))
            paths[name][seed] = path
    entries = read_entries(paths, {"model": "model", "geometry": "baseline"})
    assert [(e.name, e.kind, list(e.seeds)) for e in entries] == [
        ("model", "model", ["0", "1"]),
        ("geometry", "baseline", ["0"]),
    ]
    assert entries[0].seeds["1"]["unit"].tolist() == UNITS


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"x": [1.0]}), "need a 'unit' column"),
        (pd.DataFrame({"unit": ["a"]}), "no statistic column"),
        (pd.DataFrame({"unit": ["a", "a"], "x": [1.0, 2.0]}), "unit repeats"),
        (pd.DataFrame({"unit": ["a"], "x": [np.nan]}), "must be finite"),
        (pd.DataFrame({"unit": ["a"], "x": ["high"]}), "must be numeric"),
    ],
)
def test_a_bad_unit_statistics_file_is_refused_with_its_name(tmp_path: Path, frame: pd.DataFrame, message: str) -> None:
    path = tmp_path / "units.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=f"units.csv: .*{message}"):
        read_unit_stats(path)
    with pytest.raises(InputError, match=message):
        write_unit_stats(tmp_path / "out.csv", frame)
    assert not (tmp_path / "out.csv").exists()


def test_seed_rows_give_mean_and_sd_and_the_table_shows_both() -> None:
    row = seed_rows("sgt", "model", {"0": {"csi_m": 0.30, "kind": "x"}, "1": {"csi_m": 0.34, "kind": "x"}})
    assert row.scores["csi_m"] == pytest.approx(0.32)
    assert row.scores["csi_m_sd"] == pytest.approx(np.std([0.30, 0.34], ddof=1))
    assert row.scores["n_seeds"] == 2 and row.scores["kind"] == "x"
    single = seed_rows("flow", "baseline", {"0": {"csi_m": 0.29}})
    column = mean_sd_column("CSI-M", "csi_m", 3)
    assert column.cell(row) == "0.320 ± 0.028" and column.cell(single) == "0.290"


def test_interval_columns_show_each_rows_own_comparison() -> None:
    record = compare(_entries(), _plan())
    rows = [Row(name, e["kind"], {}) for name, e in record["entries"].items()]
    text = markdown_table(rows, interval_columns(record), kinds=("model", "baseline", "ablation", "oracle"))
    model = next(r for r in record["comparisons"] if r["a"] == "model" and r["role"] == VS_BEST_BASELINE)
    assert (
        f"| model | model | {model['estimate']:+.3f} [{model['low']:+.3f}, {model['high']:+.3f}] vs geometry | beats |"
        in text
    )
    assert "| no_part | ablation |" in text and "vs model | does not separate |" in text
    assert "| geometry | baseline | n/a | n/a |" in text
