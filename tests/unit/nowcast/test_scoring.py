"""score_forecasts on arrays and on real HDF5 files written here: values, keys, JSON, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pytest

from atmo.errors import InputError
from atmo.metrics.contingency import SEVIR_THRESHOLDS
from atmo.nowcast.scoring import FORECAST_DATASET, TRUTH_DATASET, bias_lead, score_forecasts

N, T, H = 5, 3, 32


@pytest.fixture(scope="module")
def truth_codes() -> np.ndarray:
    rng = np.random.default_rng(11)
    return rng.integers(0, 255, size=(N, T, H, H))


@pytest.fixture(scope="module")
def truth(truth_codes: np.ndarray) -> np.ndarray:
    return (truth_codes / 255.0).astype(np.float16)


@pytest.fixture(scope="module")
def forecast(truth_codes: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(12)
    return (np.clip(truth_codes + rng.normal(0, 30, truth_codes.shape), 0, 255) / 255.0).astype(np.float32)


def write_h5(path: Path, name: str, data: np.ndarray, event_ids: list[bytes] | None = None) -> Path:
    with h5py.File(path, "w") as f:
        f.create_dataset(name, data=data)
        if event_ids is not None:
            f.create_dataset("event_id", data=np.array(event_ids, dtype="S8"))
    return path


EVENTS = [f"S{i:06d}".encode() for i in range(N)]


def test_perfect_forecast(truth: np.ndarray) -> None:
    s = score_forecasts(truth.astype(np.float32), truth)
    assert s["n_samples"] == N and s["n_leads"] == T and s["thresholds"] == list(SEVIR_THRESHOLDS)
    for t in SEVIR_THRESHOLDS:
        assert s[f"csi_{t}"] == 1.0 and s[f"pod_{t}"] == 1.0 and s[f"far_{t}"] == 0.0 and s[f"bias_{t}"] == 1.0
        assert s[f"misses_{t}"] == 0 and s[f"false_alarms_{t}"] == 0
    assert s["csi_m"] == 1.0 and s["mse"] == pytest.approx(0.0, abs=1e-6)
    assert s["lpips"] == pytest.approx(0.0, abs=1e-6) and s["lpips_n_frames"] == N * T


def test_values_match_independent_numpy(truth_codes: np.ndarray, truth: np.ndarray, forecast: np.ndarray) -> None:
    s = score_forecasts(forecast, truth, batch_size=2, lpips=False)
    f_code, o_code = forecast.astype(np.float64) * 255, truth_codes.astype(np.float64)
    stored_code = truth.astype(np.float64) * 255  # errors are measured against the stored float16 truth
    assert s["mse"] == pytest.approx(np.mean((f_code - stored_code) ** 2), rel=1e-6)  # code units, 0..255 scale
    assert s["mae_lead2"] == pytest.approx(np.mean(np.abs(f_code - stored_code)[:, 1]), rel=1e-6)
    for t in (74, 181):
        f_event, o_event = f_code >= t - 0.1, o_code >= t
        hits = (f_event & o_event).sum()
        misses, false_alarms = (~f_event & o_event).sum(), (f_event & ~o_event).sum()
        assert (s[f"hits_{t}"], s[f"misses_{t}"], s[f"false_alarms_{t}"]) == (hits, misses, false_alarms)
        assert s[f"csi_{t}"] == pytest.approx(hits / (hits + misses + false_alarms))
        lead = 2
        h2 = (f_event & o_event)[:, lead].sum()
        m2 = (~f_event & o_event)[:, lead].sum()
        f2 = (f_event & ~o_event)[:, lead].sum()
        assert s[f"csi_{t}_lead{lead + 1}"] == pytest.approx(h2 / (h2 + m2 + f2))
        assert s[f"far_{t}_lead{lead + 1}"] == pytest.approx(f2 / (f2 + h2))
    assert s["csi_m"] == pytest.approx(np.mean([s[f"csi_{t}"] for t in SEVIR_THRESHOLDS]))
    assert s["lpips"] is None and s["lpips_reason"] == "disabled"
    # batch size does not change anything
    assert score_forecasts(forecast, truth, batch_size=N, lpips=False) == s


def test_strict_json_with_null_for_undefined(truth: np.ndarray) -> None:
    zeros = np.zeros_like(truth, dtype=np.float32)
    s = score_forecasts(zeros, zeros, lpips=False)
    text = json.dumps(s, allow_nan=False)  # raises if a NaN slipped through
    assert json.loads(text)["csi_219_lead1"] is None and s["csi_m"] is None
    assert all(isinstance(v, int | float | str | list | type(None)) for v in s.values())


def test_files_equal_arrays(tmp_path: Path, truth: np.ndarray, forecast: np.ndarray) -> None:
    truth_path = write_h5(tmp_path / "test.h5", TRUTH_DATASET, truth, EVENTS)
    fcst_path = write_h5(tmp_path / "forecast.h5", FORECAST_DATASET, forecast.astype(np.float16), EVENTS)
    from_files = score_forecasts(fcst_path, truth_path, batch_size=2)
    from_arrays = score_forecasts(forecast.astype(np.float16), truth, batch_size=3)
    # LPIPS sums frames in different groups per batch size: equal up to float rounding
    assert from_files.pop("lpips") == pytest.approx(from_arrays.pop("lpips"), rel=1e-5)
    assert from_files == from_arrays
    assert from_files["lpips_n_frames"] == N * T and from_files["lpips_reason"] is None


def test_small_frames_report_lpips_reason(truth: np.ndarray) -> None:
    small = truth[..., :16, :16]
    s = score_forecasts(small.astype(np.float32), small)
    assert s["lpips"] is None and "smaller" in s["lpips_reason"]


def test_bad_files_raise_input_error(tmp_path: Path, truth: np.ndarray, forecast: np.ndarray) -> None:
    truth_path = write_h5(tmp_path / "test.h5", TRUTH_DATASET, truth, EVENTS)
    shifted = write_h5(tmp_path / "shifted.h5", FORECAST_DATASET, forecast, EVENTS[1:] + EVENTS[:1])
    with pytest.raises(InputError, match=r"shifted\.h5: event_id order differs"):
        score_forecasts(shifted, truth_path, lpips=False)
    short = write_h5(tmp_path / "short.h5", FORECAST_DATASET, forecast[:, :2])
    with pytest.raises(InputError, match=r"short.h5: forecast shape \(5, 2, 32, 32\) differs"):
        score_forecasts(short, truth_path, lpips=False)
    wrong_name = write_h5(tmp_path / "wrong.h5", "y_hat", forecast)
    with pytest.raises(InputError, match=r"wrong\.h5: missing dataset 'forecast'"):
        score_forecasts(wrong_name, truth_path, lpips=False)
    with pytest.raises(InputError, match="does not exist"):
        score_forecasts(tmp_path / "absent.h5", truth_path, lpips=False)
    empty = write_h5(tmp_path / "empty.h5", FORECAST_DATASET, forecast[:0])
    empty_truth = write_h5(tmp_path / "empty_truth.h5", TRUTH_DATASET, truth[:0])
    with pytest.raises(InputError, match="no samples"):
        score_forecasts(empty, empty_truth, lpips=False)
    broken = forecast.copy()
    broken[3, 1, 0, 0] = np.nan
    with_nan = write_h5(tmp_path / "nan.h5", FORECAST_DATASET, broken)
    with pytest.raises(InputError, match=r"nan\.h5: samples from index 2: forecast contains NaN"):
        score_forecasts(with_nan, truth_path, batch_size=2, lpips=False)


def test_bad_arguments_raise(truth: np.ndarray, forecast: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"VIL codes in 0\.\.255"):
        score_forecasts(forecast, truth, thresholds=[74, 400])
    with pytest.raises(ValueError, match="float"):
        score_forecasts((forecast * 255).astype(np.uint8), truth)
    with pytest.raises(ValueError, match="batch_size"):
        score_forecasts(forecast, truth, batch_size=0)


def test_unreached_threshold_zero_counts_a_threshold_the_truth_never_reaches_as_csi_0() -> None:
    # One sample, two leads, 1 x 4 pixels; the truth stays below 181, the forecast raises one false alarm there.
    truth = (np.array([[[[20, 80, 0, 0]], [[20, 0, 0, 0]]]]) / 255.0).astype(np.float16)
    forecast = (np.array([[[[20, 0, 0, 200]], [[20, 0, 0, 0]]]]) / 255.0).astype(np.float32)
    skip = score_forecasts(forecast, truth, [16, 74, 181], pool_sizes=[2], lpips=False)
    zero = score_forecasts(forecast, truth, [16, 74, 181], pool_sizes=[2], unreached_threshold="zero", lpips=False)
    # pooled over leads: 16: H=2 M=1 F=1 -> 1/2; 74: H=0 M=1 F=1 -> 0; 181: H=0 M=0 F=1, never reached
    assert (skip["csi_16"], skip["csi_74"], skip["csi_181"]) == (0.5, 0.0, 0.0)
    assert skip["csi_m"] == pytest.approx(0.25) and zero["csi_m"] == pytest.approx(0.5 / 3)
    assert skip["csi_m_thresholds"] == [16, 74] and zero["csi_m_thresholds"] == [16, 74, 181]
    assert (skip["unreached_threshold"], zero["unreached_threshold"]) == ("skip", "zero")
    # lead 2 reaches only 16 (a hit, CSI 1): skip 1, zero (1 + 0 + 0) / 3
    assert skip["csi_m_lead2"] == 1.0 and zero["csi_m_lead2"] == pytest.approx(1 / 3)
    # 2 x 2 max-pooling: blocks of lead 1 truth [80, 0], forecast [20, 200]; lead 2 truth [20, 0], forecast [20, 0].
    # 16: H=2 F=1 -> 2/3; 74: H=0 M=1 F=1 -> 0; 181: F=1, unreached
    assert skip["csi_m_pool2"] == pytest.approx(1 / 3) and zero["csi_m_pool2"] == pytest.approx(2 / 9)
    assert zero["hss_m"] == pytest.approx((skip["hss_16"] + skip["hss_74"] + 0) / 3)
    with pytest.raises(ValueError, match="unreached_threshold"):
        score_forecasts(forecast, truth, unreached_threshold="drop", lpips=False)


def _codes(codes: list, dtype: type = np.float32) -> np.ndarray:
    """Integer VIL codes -> code/255 arrays (float16 for truth, as the cache stores it)."""
    return (np.asarray(codes, dtype=np.float64) / 255.0).astype(dtype)


def test_dry_mean_by_hand_per_lead_and_pooled_over_leads() -> None:
    # One sample, two leads, 2 x 2 pixels. Lead 1: truth [[0, 0], [0, 100]], forecast [[4, 0], [2, 100]]
    # -> dry pixels 3, codes 4 + 0 + 2 = 6 -> 2.0. Lead 2: truth [[0, 30], [30, 30]], forecast [[10, 30], [0, 0]]
    # -> dry pixel 1, code 10 -> 10.0. Pooled: 16 / 4 = 4.0 (the mean of per-lead means would be 6.0).
    truth = _codes([[[[0, 0], [0, 100]], [[0, 30], [30, 30]]]], np.float16)
    forecast = _codes([[[[4, 0], [2, 100]], [[10, 30], [0, 0]]]])
    s = score_forecasts(forecast, truth, lpips=False)
    assert s["dry_mean_lead1"] == pytest.approx(2.0, rel=1e-6) and s["dry_mean_lead2"] == pytest.approx(10.0, rel=1e-6)
    assert s["dry_mean"] == pytest.approx(4.0, rel=1e-6)
    # a forecast that keeps dry areas dry scores 0; a lead without dry truth is undefined (null)
    assert score_forecasts(truth.astype(np.float32), truth, lpips=False)["dry_mean"] == 0.0
    wet = score_forecasts(forecast, truth + np.float16(1 / 255), lpips=False)
    assert wet["dry_mean"] is None and wet["dry_mean_lead1"] is None


def test_bias74_60min_by_hand_at_lead_12_and_at_the_last_lead_of_shorter_forecasts() -> None:
    # 12 leads of 1 x 4 pixels, all dry but lead 12 (60 min): truth [80, 80, 0, 0], forecast [80, 0, 74, 90]
    # -> at VIL >= 74: H = 1, M = 1, F = 2, bias (H + F) / (H + M) = 3 / 2. Lead 11 carries a decoy of bias 0.
    truth = np.zeros((1, 12, 1, 4))
    forecast = np.zeros((1, 12, 1, 4))
    truth[0, 11, 0], forecast[0, 11, 0] = [80, 80, 0, 0], [80, 0, 74, 90]
    truth[0, 10, 0] = [100, 0, 0, 0]
    s = score_forecasts(_codes(forecast), _codes(truth, np.float16), lpips=False)
    assert s["bias74_60min"] == pytest.approx(1.5) == s["bias_74_lead12"]
    assert s["hits_74"] == 1 and s["misses_74"] == 2 and s["false_alarms_74"] == 2
    # without 74 among the thresholds it is still scored, from its own counts
    assert score_forecasts(_codes(forecast), _codes(truth, np.float16), [16], lpips=False)["bias74_60min"] == 1.5
    # 11 leads stop short of 60 min: the last lead (55 min), here the decoy with bias 0 (H 0, M 1, F 0)
    short = score_forecasts(_codes(forecast[:, :11]), _codes(truth[:, :11], np.float16), lpips=False)
    assert short["bias74_60min"] == 0.0
    # 13 leads: still lead 12, 60 min after the last input frame
    longer = np.concatenate([forecast, forecast[:, :1]], axis=1)
    assert score_forecasts(
        _codes(longer), _codes(np.concatenate([truth, truth[:, :1]], axis=1), np.float16), lpips=False
    )["bias74_60min"] == pytest.approx(1.5)


def test_bias_lead_is_the_lead_closest_to_60_minutes() -> None:
    assert [bias_lead(n) for n in (1, 6, 11, 12, 13, 20)] == [1, 6, 11, 12, 12, 12]
