"""Scoring ensemble files: the keys, a perfect ensemble, deterministic files, K < 2, and the per-day statistics."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from atmo.downscale.comparison import CRPS
from atmo.downscale.sample_files import samples_writer
from atmo.downscale.scoring import ScoringSettings, day_label, day_statistics, score_samples
from atmo.errors import ConfigError
from atmo.metrics.paired import seed_scores
from atmo.metrics.unit_stats import read_unit_stats, write_unit_stats

SETTINGS = ScoringSettings(crps_blocks=(1, 4, 8), fss_windows=(1, 3), fss_thresholds_mm=(5.0, 500.0), batch_size=3)


def _truth(n: int = 5, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    wet = rng.random((n, 16, 16)) < 0.5
    return np.where(wet, rng.gamma(0.6, 8.0, (n, 16, 16)), 0.0).astype(np.float32)


def _write(path: Path, truth: np.ndarray, samples: np.ndarray, deterministic: bool = False) -> Path:
    n, k = samples.shape[:2]
    attrs = {
        "method": "test",
        "variant": "v3",
        "epoch": 7,
        "mode": "prior",
        "k": k,
        "temperature": 1.0,
        "deterministic": deterministic,
        "seed": 0,
        "factor": 4,
        "fields": "fields.h5",
    }
    with samples_writer(
        path, k=k, fine_shape=(16, 16), coarse_shape=(4, 4), index=np.arange(n), time_s=np.arange(n), attrs=attrs
    ) as writer:
        writer.write(samples, truth, np.zeros((n, 4, 4), np.float32))
    return path


def test_a_perfect_ensemble_scores_perfectly(tmp_path: Path) -> None:
    truth = _truth()
    scores = score_samples(_write(tmp_path / "perfect.h5", truth, np.repeat(truth[:, None], 4, axis=1)), SETTINGS)
    for block in (1, 4, 8):  # 0 up to the rounding of the sorted-member spread term
        assert scores[f"crps_b{block}_mm"] == pytest.approx(0.0, abs=1e-12)
    assert scores["crps_mm"] == pytest.approx(0.0, abs=1e-12) and scores["diversity_mm"] == 0.0
    assert scores["tail_mae_p95_mm"] == scores["tail_mae_p99_mm"] == 0.0
    assert scores["log_spectral_distance_db"] == pytest.approx(0.0, abs=1e-9) and scores["bias_p99_mm"] == 0.0
    assert scores["samples_max_mm"] == scores["truth_max_mm"] == pytest.approx(float(truth.max()))
    assert scores["fss_p99_w1"] == 1.0 and scores["fss_prob_5mm_w3"] == 1.0
    assert scores["fss_500mm_w1"] is None, "no event in truth or samples: undefined, not 0"


def test_keys_of_an_ensemble_and_their_json(tmp_path: Path) -> None:
    truth = _truth()
    rng = np.random.default_rng(1)
    samples = np.clip(truth[:, None] + rng.normal(0, 2.0, (5, 6, 16, 16)), 0, None).astype(np.float32)
    scores = score_samples(_write(tmp_path / "noisy.h5", truth, samples), SETTINGS)
    expected = {
        "method", "variant", "epoch", "mode", "k", "temperature", "deterministic", "n_cases",
        *(f"{side}_{s}_mm" for side in ("truth", "samples", "bias") for s in ("mean", "p95", "p99", "max")),
        "ratio_p99", "diversity_mm", "diversity_relative", "threshold_p95_mm", "threshold_p99_mm",
        "tail_mae_p95_mm", "tail_mae_p99_mm", "crps_b1_mm", "crps_b4_mm", "crps_b8_mm", "crps_mm",
        "crps_estimator", "rank_histogram", "rank_outlier_fraction", "rank_expected_outlier_fraction",
        "rank_reliability_index", "spread_mm", "ensemble_mean_rmse_mm", "spread_skill_ratio",
        "rapsd_wavenumber", "rapsd_truth", "rapsd_samples", "log_spectral_distance_db",
        *(f"{p}_{t}_w{w}" for p in ("fss", "fss_prob") for t in ("p95", "p99", "5mm", "500mm") for w in (1, 3)),
    }  # fmt: skip
    assert expected <= set(scores)
    assert (scores["variant"], scores["epoch"], scores["k"], scores["n_cases"]) == ("v3", 7, 6, 5)
    assert len(scores["rank_histogram"]) == 7 and sum(scores["rank_histogram"]) == truth.size
    assert scores["diversity_mm"] > 0 and scores["spread_skill_ratio"] > 0
    assert all(scores[f"crps_b{b}_mm"] > 0 for b in (1, 4, 8))
    assert len(scores["rapsd_truth"]) == len(scores["rapsd_wavenumber"]) == 7
    json.loads(json.dumps(scores, allow_nan=False))  # plain JSON: no NaN, no numpy types


def test_small_values_count_as_dry(tmp_path: Path) -> None:
    truth = _truth()
    drizzle = np.where(truth == 0, np.float32(0.05), truth)  # a decoder that never reaches 0
    scores = score_samples(_write(tmp_path / "drizzle.h5", truth, np.repeat(drizzle[:, None], 3, axis=1)), SETTINGS)
    # every pixel is a tie after thresholding, so ranks are uniform (1/4 per bin); without it, the
    # half of the pixels that are dry would all be below every member
    assert scores["rank_histogram"][0] < 0.35 * truth.size, "dry truth pixels are ties, not below every member"
    assert scores["crps_mm"] == pytest.approx(0.0, abs=1e-12)


def test_a_deterministic_file_gets_the_single_field_scores(tmp_path: Path) -> None:
    truth = _truth()
    forecast = (truth[:, None] + 1.0).astype(np.float32)
    scores = score_samples(_write(tmp_path / "bicubic.h5", truth, forecast, deterministic=True), SETTINGS)
    assert scores["crps_b1_mm"] == pytest.approx(np.abs(np.where(truth < 0.1, 0, truth) - forecast[:, 0]).mean())
    for key in ("rank_histogram", "spread_skill_ratio", "diversity_mm", "fss_prob_p99_w1"):
        assert scores[key] is None, key
    assert math.isfinite(scores["log_spectral_distance_db"])


def test_a_sampled_file_with_one_member_is_a_config_error(tmp_path: Path) -> None:
    truth = _truth()
    path = _write(tmp_path / "k1.h5", truth, truth[:, None].copy())
    with pytest.raises(ConfigError) as err:
        score_samples(path, SETTINGS)
    assert "downscale.sampling.k" in str(err.value) and "K=1" in str(err.value)


def test_settings_are_checked_with_their_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"downscale\.scoring\.intensity_quantiles"):
        score_samples(tmp_path / "unused.h5", {"intensity_quantiles": [99.0]})
    truth = _truth()
    path = _write(tmp_path / "ok.h5", truth, np.repeat(truth[:, None], 2, axis=1))
    with pytest.raises(ConfigError, match=r"downscale\.scoring\.crps_blocks"):
        score_samples(path, {"crps_blocks": [32]})


@pytest.mark.parametrize(("members", "fair"), [(4, False), (4, True), (1, False)])
def test_pooling_the_day_statistics_gives_the_files_crps(tmp_path: Path, members: int, fair: bool) -> None:
    """The comparisons re-form CRPS from per-day sums: they must give score_samples' crps_mm exactly."""
    truth = _truth(n=7, seed=3)
    rng = np.random.default_rng(4)
    samples = np.clip(
        truth[:, None] * rng.uniform(0.5, 1.5, (7, members, 1, 1)) + rng.gamma(0.4, 2.0, (7, members, 16, 16)), 0, None
    )
    path = _write(tmp_path / "ens.h5", truth, samples.astype(np.float32), deterministic=members == 1)
    settings = ScoringSettings(crps_blocks=(1, 4), fair_crps=fair, batch_size=3, dry_threshold_mm=0.5)
    days = day_statistics(path, settings)
    scores = score_samples(path, settings)
    assert list(days.columns) == [
        "unit",
        "crps_sum_mm",
        "n_pixels",
        "abs_error_sum_mm",
        "n_cases",
        "samples_max_mm",
        "truth_max_mm",
        "diversity_sum_mm",
    ]
    assert len(days) == 7 and (days["n_cases"] == 1).all()
    assert days["unit"].is_unique and (days["n_pixels"] == 256).all()
    pooled = float(CRPS.formula(days[list(CRPS.statistics)].to_numpy(np.float64).sum(axis=0)))
    assert pooled == pytest.approx(scores["crps_mm"], rel=1e-12)
    # the pooled metric of a file written and read back is the same (the bootstrap reads the CSV)
    write_unit_stats(tmp_path / "days.csv", days)
    frame = read_unit_stats(tmp_path / "days.csv")
    assert float(seed_scores([frame], CRPS)[0]) == pytest.approx(scores["crps_mm"], rel=1e-12)
    # an independent per-day CRPS: E|X - y| - E|X - X'|/2 (fair: / (K - 1) instead of / K), after the dry threshold
    y = np.where(truth < 0.5, 0.0, truth).astype(np.float64)
    x = np.where(samples < 0.5, 0.0, samples.astype(np.float32)).astype(np.float64)
    spread = np.abs(x[:, :, None] - x[:, None, :]).sum(axis=(1, 2)) / (2 * members * (members - 1 if fair else members))
    crps = np.abs(x - y[:, None]).mean(axis=1) - spread
    np.testing.assert_allclose(days["crps_sum_mm"], crps.sum(axis=(1, 2)), rtol=1e-9)
    np.testing.assert_allclose(days["abs_error_sum_mm"], np.abs(x.mean(axis=1) - y).sum(axis=(1, 2)), rtol=1e-9)
    # the write-up's per-day maximum and diversity (atmo.downscale.write_up), by hand
    np.testing.assert_allclose(days["samples_max_mm"], x.max(axis=(1, 2, 3)))
    np.testing.assert_allclose(days["truth_max_mm"], y.max(axis=(1, 2)))
    if members >= 2:
        spread = np.sqrt(((x - x.mean(axis=1, keepdims=True)) ** 2).sum(axis=1) / (members - 1))
        np.testing.assert_allclose(days["diversity_sum_mm"], spread.sum(axis=(1, 2)), rtol=1e-9)
        assert days["diversity_sum_mm"].sum() / days["n_pixels"].sum() == pytest.approx(scores["diversity_mm"])
    else:
        assert (days["diversity_sum_mm"] == 0).all()


def test_the_days_are_labelled_by_their_time_in_file_order() -> None:
    assert day_label(86400 * 31) == "1970-02-01T00:00:00Z"
