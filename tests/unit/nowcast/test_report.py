"""Nowcast report: CSV/markdown tables from real score dicts, and the two figures as PNG files."""

from __future__ import annotations

from pathlib import Path

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from atmo.nowcast.baselines import persistence
from atmo.nowcast.report import (
    ModelScores,
    markdown_table,
    plot_csi_by_lead,
    plot_event_panel,
    scores_long,
    write_tables,
)
from atmo.nowcast.scoring import score_forecasts

T_IN, T_OUT, H = 4, 3, 24
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def case() -> dict[str, np.ndarray]:
    """Inputs, truth and three forecasts of increasing error (code/255 scale)."""
    rng = np.random.default_rng(21)
    seq = rng.uniform(0, 1, size=(2, T_IN + T_OUT, H, H)).astype(np.float32)
    inputs, truth = seq[:, :T_IN], seq[:, T_IN:]
    return {
        "inputs": inputs,
        "truth": truth,
        "sgt": np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 1).astype(np.float32),
        "sgt_no_graph": np.clip(truth + rng.normal(0, 0.2, truth.shape), 0, 1).astype(np.float32),
        "persistence": persistence(inputs, T_OUT),
    }


@pytest.fixture(scope="module")
def entries(case: dict[str, np.ndarray]) -> list[ModelScores]:
    # given out of order on purpose: the report puts models, then baselines, then ablations
    kinds = {"sgt_no_graph": "ablation", "persistence": "baseline", "sgt": "model"}
    return [ModelScores(name, kind, score_forecasts(case[name], case["truth"])) for name, kind in kinds.items()]


def test_tables(tmp_path: Path, entries: list[ModelScores]) -> None:
    csv, md, long_csv = tmp_path / "scores.csv", tmp_path / "table.md", tmp_path / "scores_long.csv"
    write_tables(entries, csv_path=csv, markdown_path=md, long_csv_path=long_csv)

    wide = pd.read_csv(csv)
    assert list(wide["model"]) == ["sgt", "persistence", "sgt_no_graph"]
    assert list(wide["kind"]) == ["model", "baseline", "ablation"]
    assert {"csi_74_lead3", "csi_m", "mse_lead1", "lpips"} <= set(wide.columns)
    by_name = {e.name: e.scores for e in entries}
    assert wide.set_index("model").loc["sgt", "csi_74_lead3"] == pytest.approx(by_name["sgt"]["csi_74_lead3"])
    # better forecast, better scores: a real check that rows are not mixed up
    assert wide.loc[0, "mse"] < wide.loc[2, "mse"] < wide.loc[1, "mse"]

    text = md.read_text()
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    assert lines[0].startswith("| model | kind | CSI-M | CSI-16 | CSI-74")
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| sgt", "| persistence", "| sgt_no_graph"]
    assert f"{by_name['persistence']['csi_m']:.3f}" in lines[3]
    assert "LPIPS n/a for sgt: frames of (24, 24) px" in text  # small test frames: reason shown, no number

    tidy = pd.read_csv(long_csv)
    row = tidy.query("model == 'sgt' and metric == 'csi' and threshold == 74 and lead == 3")
    assert row["value"].item() == pytest.approx(by_name["sgt"]["csi_74_lead3"])
    assert tidy.query("metric == 'csi_m' and lead.isna()")["model"].tolist() == ["sgt", "persistence", "sgt_no_graph"]
    assert not list(tmp_path.glob(".*"))  # no temporary siblings left behind


def test_long_format_parses_keys(entries: list[ModelScores]) -> None:
    tidy = scores_long(entries)
    metrics = set(tidy["metric"])
    assert {"csi", "pod", "far", "bias", "hits", "csi_m", "mse", "mae", "n_samples"} <= metrics
    mse = tidy.query("model == 'sgt' and metric == 'mse'")
    assert mse["lead"].isna().sum() == 1 and mse["lead"].dropna().tolist() == [1, 2, 3]


def test_figures(tmp_path: Path, entries: list[ModelScores], case: dict[str, np.ndarray]) -> None:
    csi_png, panel_png = tmp_path / "csi_by_lead.png", tmp_path / "event.png"
    plot_csi_by_lead(csi_png, entries)
    forecasts = {name: case[name][0] for name in ("sgt", "persistence", "sgt_no_graph")}
    plot_event_panel(panel_png, case["inputs"][0], case["truth"][0], forecasts, title="S000001")
    for png in (csi_png, panel_png):
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01
    assert not list(tmp_path.glob(".*"))


def test_bad_inputs_write_nothing(tmp_path: Path, entries: list[ModelScores], case: dict[str, np.ndarray]) -> None:
    out = tmp_path / "event.png"
    with pytest.raises(ValueError, match="forecast 'bad'"):
        plot_event_panel(out, case["inputs"][0], case["truth"][0], {"bad": case["truth"][0, :2]})
    other = ModelScores("other", "model", {**entries[0].scores, "thresholds": [74]})
    with pytest.raises(ValueError, match="different thresholds"):
        plot_csi_by_lead(tmp_path / "csi.png", [*entries, other])
    with pytest.raises(ValueError, match="unique"):
        markdown_table([entries[0], entries[0]])
    with pytest.raises(ValueError, match="kind"):
        ModelScores("x", "teacher", {})  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
