"""atmo.nowcast.units: per-episode statistics that re-form the score file's pooled CSI-M, 60-min CSI-M and MSE."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.metrics.pooled import mean_csi, ratio
from atmo.metrics.unit_stats import read_unit_stats, write_unit_stats
from atmo.nowcast.comparison import lead_label
from atmo.nowcast.scoring import FORECAST_DATASET, score_forecasts
from atmo.nowcast.units import event_units, unit_statistics

THRESHOLDS = (16, 74, 133, 160, 181, 219)
T_OUT, H = 3, 16
# four test events: two of episode 7 (correlated: one unit), one of episode 9, one random event (its own unit)
EVENTS = ["S700001", "S700002", "S700003", "R1901010000"]
EPISODES = [7.0, 7.0, 9.0, np.nan]
SAMPLES_PER_EVENT = 2


def _catalog() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": EVENTS,
            "img_type": "vil",
            "time_utc": pd.to_datetime(["2019-01-01", "2019-01-02", "2019-02-01", "2019-03-01"]),
            "episode_id": EPISODES,
            "event_type": "Hail",
        }
    )


def _files(tmp_path: Path, top_code: float) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    """A test cache and a forecast file; the truth peaks at ``top_code`` (below 160: a weak-echo set)."""
    rng = np.random.default_rng(3)
    n = len(EVENTS) * SAMPLES_PER_EVENT
    truth = rng.uniform(0, top_code / 255, size=(n, T_OUT, H, H)).astype(np.float32)
    forecast = np.clip(truth + rng.normal(0, 0.1, truth.shape), 0, 1).astype(np.float32)
    forecast[0, :, 0, 0] = 230 / 255  # false alarms above anything the truth reaches
    ids = np.repeat(np.array([e.encode() for e in EVENTS]), SAMPLES_PER_EVENT)
    cache, predicted = tmp_path / "test.h5", tmp_path / "forecast.h5"
    with h5py.File(cache, "w") as handle:
        handle["y"], handle["event_id"] = truth.astype(np.float16), ids
    with h5py.File(predicted, "w") as handle:
        handle[FORECAST_DATASET], handle["event_id"] = forecast, ids
    return predicted, cache, forecast, truth


def test_events_of_one_episode_are_one_unit() -> None:
    assert event_units(_catalog()) == {
        "S700001": "episode 7",
        "S700002": "episode 7",
        "S700003": "episode 9",
        "R1901010000": "R1901010000",
    }


@pytest.mark.parametrize("top_code", [255.0, 150.0], ids=["every threshold", "weak echo"])
def test_pooling_the_units_gives_the_score_files_csi_m_mse_and_last_lead(tmp_path: Path, top_code: float) -> None:
    forecast, cache, *_ = _files(tmp_path, top_code)
    table = unit_statistics(forecast, cache, event_units(_catalog()), THRESHOLDS, batch_size=3)  # batches split units
    assert list(table["unit"]) == ["episode 7", "episode 9", "R1901010000"]
    path = tmp_path / "units.csv"
    write_unit_stats(path, table)
    sums = read_unit_stats(path).drop(columns="unit").sum()
    scores = score_forecasts(forecast, cache, THRESHOLDS, lpips=False)

    csi_m = mean_csi(THRESHOLDS)
    pooled = float(csi_m.formula(sums[list(csi_m.statistics)].to_numpy(dtype=np.float64)))
    assert pooled == scores["csi_m"]  # exactly: the same integer counts, the same thresholds left out
    last = mean_csi([lead_label(t, T_OUT) for t in THRESHOLDS])
    assert float(last.formula(sums[list(last.statistics)].to_numpy(dtype=np.float64))) == scores[f"csi_m_lead{T_OUT}"]
    mse = ratio("mse", "MSE", "squared_error", "n_pixels", higher_is_better=False)
    assert float(mse.formula(sums[list(mse.statistics)].to_numpy())) == pytest.approx(scores["mse"], rel=1e-9)
    for t in THRESHOLDS:
        assert sums[f"hits_{t}"] == scores[f"hits_{t}"] and sums[f"false_alarms_{t}"] == scores[f"false_alarms_{t}"]
    if top_code < 160:  # the weak-echo rule: 160, 181, 219 are never reached, and left out of both means
        assert scores["csi_m_thresholds"] == [16, 74, 133]
        assert sums["hits_219"] + sums["misses_219"] == 0 and sums["false_alarms_219"] > 0


def test_units_are_summed_over_their_samples(tmp_path: Path) -> None:
    forecast, cache, f, o = _files(tmp_path, 255.0)
    table = unit_statistics(forecast, cache, event_units(_catalog()), [74]).set_index("unit")
    o = o.astype(np.float16).astype(np.float32)  # as stored
    first_episode = slice(0, 2 * SAMPLES_PER_EVENT)  # S700001 and S700002
    hits = np.count_nonzero((f[first_episode] * 255 >= 73.9) & (o[first_episode] * 255 >= 73.9))
    assert table.loc["episode 7", "hits_74"] == hits
    assert table.loc["episode 7", "n_pixels"] == 2 * SAMPLES_PER_EVENT * T_OUT * H * H


def test_an_event_without_a_unit_or_forecasts_of_other_events_are_refused(tmp_path: Path) -> None:
    forecast, cache, *_ = _files(tmp_path, 255.0)
    with pytest.raises(InputError, match="without a unit"):
        unit_statistics(forecast, cache, {"S700001": "episode 7"}, THRESHOLDS)
    with h5py.File(forecast, "a") as handle:
        handle["event_id"][0] = b"S799999"
    with pytest.raises(InputError, match="event_id order differs"):
        unit_statistics(forecast, cache, event_units(_catalog()), THRESHOLDS)
