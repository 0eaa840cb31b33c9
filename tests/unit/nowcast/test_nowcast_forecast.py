"""Forecast files from baselines and models, their scoring, and the report built from the score files."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from sevir_helpers import build_caches, event_ids

from atmo.errors import InputError
from atmo.io.atomic import write_json
from atmo.nowcast.cache import CacheConfig
from atmo.nowcast.forecast import as_vil_product, baseline_predictor, model_predictor, write_forecasts
from atmo.nowcast.models import build_model
from atmo.nowcast.results import write_report
from atmo.nowcast.scoring import FORECAST_DATASET, score_forecasts

pytestmark = pytest.mark.usefixtures("one_torch_thread")

T_OUT = 6
CACHE = CacheConfig(grid_size=16, frames_in=12, frames_out=T_OUT, stride=12)  # 3 samples per event
SGT_PARAMS = {"hidden_dim": 8, "stem_channels": 4, "max_cells": 8, "gnn_heads": 1, "transformer_heads": 2}
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def caches(pristine_tree: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``test``: two events (6 samples); ``short``: one of them (3 samples); ``swapped``: both, other order."""
    ids = event_ids(pristine_tree)[:2]
    splits = {"test": ids, "short": ids[:1], "swapped": ids[::-1]}
    return build_caches(pristine_tree, tmp_path_factory.mktemp("nowcast_test_cache"), splits, CACHE)


@pytest.fixture(scope="module")
def sgt() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model("sgt", frames_in=CACHE.frames_in, frames_out=T_OUT, **SGT_PARAMS)


@pytest.fixture(scope="module")
def forecasts(
    caches: dict[str, Path], sgt: torch.nn.Module, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Forecast files of persistence and of the (untrained) SGT for the test cache."""
    out = tmp_path_factory.mktemp("forecasts")
    predictors = {"persistence": baseline_predictor("persistence", T_OUT), "sgt": model_predictor(sgt)}
    for name, predict in predictors.items():
        write_forecasts(caches["test"], out / f"{name}.h5", predict, batch_size=4, label=name)
    return {name: out / f"{name}.h5" for name in predictors}


def test_persistence_repeats_the_last_input_frame(caches: dict[str, Path], forecasts: dict[str, Path]) -> None:
    with h5py.File(caches["test"]) as cache, h5py.File(forecasts["persistence"]) as out:
        last = cache["x"][:, -1, 0].astype(np.float32)
        forecast = out[FORECAST_DATASET][...]
        assert forecast.shape == (6, T_OUT, 16, 16) and forecast.dtype == np.float32
        np.testing.assert_array_equal(forecast, as_vil_product(np.repeat(last[:, None], T_OUT, axis=1)))
        assert last.max() > 0  # not trivially all zeros
        np.testing.assert_array_equal(out["event_id"][...], cache["event_id"][...])
        assert out.attrs["seconds_per_sample"] > 0 and out.attrs["label"] == "persistence"


def test_model_forecasts_match_the_model(
    caches: dict[str, Path], forecasts: dict[str, Path], sgt: torch.nn.Module
) -> None:
    with h5py.File(caches["test"]) as cache, h5py.File(forecasts["sgt"]) as out:
        forecast = out[FORECAST_DATASET][...]
        assert np.isfinite(forecast).all() and forecast.min() >= 0 and forecast.max() <= 1
        np.testing.assert_array_equal(out["event_id"][...], cache["event_id"][...])
        assert out.attrs["seconds_per_sample"] > 0
        # the last sample, forecast on its own, is what the file holds at its index (no batch mix-up)
        x = torch.from_numpy(cache["x"][-1:].astype(np.float32))
        present = torch.from_numpy(cache["present"][-1:])
        motion = torch.from_numpy(cache["motion"][-1:].astype(np.float32))
    with torch.no_grad():
        expected = as_vil_product(sgt(x, present, motion).clamp(0, 1).numpy())
    np.testing.assert_allclose(forecast[-1:], expected, atol=1e-5)


def test_values_below_the_zero_vil_code_are_stored_as_no_vil() -> None:
    codes = np.array([0.0, 2.0, 5.4, 5.6, 16.0, 254.0], dtype=np.float32)
    np.testing.assert_array_equal(as_vil_product(codes / 255) * 255, np.array([0, 0, 0, 5.6, 16, 254], np.float32))
    assert as_vil_product(codes / 255).dtype == np.float32


def test_returned_seconds_match_the_attribute(caches: dict[str, Path], tmp_path: Path) -> None:
    seconds = write_forecasts(caches["short"], tmp_path / "f.h5", baseline_predictor("persistence", T_OUT))
    with h5py.File(tmp_path / "f.h5") as out:
        assert out.attrs["seconds_per_sample"] == pytest.approx(seconds) and seconds > 0


def test_bad_predictors_write_nothing(caches: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown nowcast baseline 'climatology'"):
        baseline_predictor("climatology", T_OUT)
    with pytest.raises(ValueError, match="forecast shape"):  # a model for 3 lead times on a 6-lead cache
        write_forecasts(caches["test"], tmp_path / "f.h5", baseline_predictor("persistence", 3), label="short")
    with pytest.raises(ValueError, match=r"x must be \(B, 13"):  # a model trained on another input length
        write_forecasts(caches["test"], tmp_path / "f.h5", model_predictor(build_model("unet", frames_in=13)))
    assert list(tmp_path.iterdir()) == []


def test_scoring_refuses_forecasts_of_another_cache(caches: dict[str, Path], forecasts: dict[str, Path]) -> None:
    scores = score_forecasts(forecasts["persistence"], caches["test"], lpips=False)
    assert scores["n_samples"] == 6 and scores["n_leads"] == T_OUT
    with pytest.raises(InputError, match=r"forecast shape .* differs"):
        score_forecasts(forecasts["persistence"], caches["short"], lpips=False)
    with pytest.raises(InputError, match="event_id order differs"):
        score_forecasts(forecasts["persistence"], caches["swapped"], lpips=False)


@pytest.fixture(scope="module")
def score_files(
    caches: dict[str, Path], forecasts: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Score JSONs of persistence, the SGT and an 'ablation' (the SGT's file again, under another name)."""
    out = tmp_path_factory.mktemp("scores")
    for name in forecasts:
        write_json(out / f"{name}.json", score_forecasts(forecasts[name], caches["test"], lpips=False))
    (out / "sgt_no_gnn.json").write_text((out / "sgt.json").read_text())
    return {name: out / f"{name}.json" for name in ("sgt_no_gnn", "persistence", "sgt")}


KINDS = {"sgt_no_gnn": "ablation", "persistence": "baseline", "sgt": "model"}


def report(caches: dict[str, Path], forecasts: dict[str, Path], score_files: dict[str, Path], out: Path) -> str:
    paths = {**forecasts, "sgt_no_gnn": forecasts["sgt"]}
    return write_report(  # one seed label per forecaster
        {name: {"0": path} for name, path in score_files.items()},
        KINDS,
        {name: {"0": path} for name, path in paths.items()},
        caches["test"],
        csv_path=out / "scores.csv",
        markdown_path=out / "table.md",
        csi_figure=out / "csi_by_lead.png",
        event_figure=out / "event.png",
        event_index=99,  # clipped to the last test sample
    )


def test_write_report(
    caches: dict[str, Path], forecasts: dict[str, Path], score_files: dict[str, Path], tmp_path: Path
) -> None:
    table = report(caches, forecasts, score_files, tmp_path)

    wide = pd.read_csv(tmp_path / "scores.csv")
    assert list(wide["model"]) == ["sgt", "persistence", "sgt_no_gnn"]  # models, baselines, then ablations
    persistence = json.loads(score_files["persistence"].read_text())
    assert wide.set_index("model").loc["persistence", "mse"] == pytest.approx(persistence["mse"])

    markdown = (tmp_path / "table.md").read_text()
    assert markdown == table
    unpooled = markdown.split("\n\n")[0]
    rows = [line.split(" | ")[0].lstrip("| ") for line in unpooled.splitlines() if line.startswith("| ")]
    assert rows == ["model", "---", "sgt", "persistence", "sgt_no_gnn"]
    assert f"{persistence['csi_m']:.3f}" in markdown.splitlines()[3]
    for png in ("csi_by_lead.png", "event.png"):
        assert (tmp_path / png).read_bytes()[:8] == PNG_SIGNATURE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["csi_by_lead.png", "event.png", "scores.csv", "table.md"]


def test_report_bad_inputs_write_nothing(
    caches: dict[str, Path], forecasts: dict[str, Path], score_files: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "report"
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(InputError, match=r"broken\.json: not valid JSON"):
        report(caches, forecasts, {**score_files, "sgt": broken}, out)
    with pytest.raises(InputError, match=r"missing\.json: nowcast score file does not exist"):
        report(caches, forecasts, {**score_files, "sgt": tmp_path / "missing.json"}, out)
    short = tmp_path / "short.h5"  # forecasts of the 3-sample cache
    write_forecasts(caches["short"], short, baseline_predictor("persistence", T_OUT))
    with pytest.raises(InputError, match=r"short\.h5: dataset 'forecast' has shape"):
        report(caches, {**forecasts, "persistence": short}, score_files, out)
    assert not out.exists()
