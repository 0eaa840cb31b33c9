"""``config/sevir_vil.yaml`` holds what a SEVIR leaderboard number needs, and the code does that with it.

Earthformer's protocol (the 0.4419 CSI-M): real SEVIR VIL only, every event (random ones too),
13 -> 12 frames, three samples per event at stride 12, 384 x 384 pixels of 1 km as stored, train
before 2019-01-01, validation before 2019-06-01, test after, and a threshold no test truth reaches
counted as CSI 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from atmo.nowcast.cache import CacheConfig, resample, sample_starts
from atmo.nowcast.comparison import check_comparison
from atmo.nowcast.scoring import ScoringConfig
from atmo.nowcast.sevir_files import N_FRAMES, Selection, select_events
from atmo.nowcast.split import SplitConfig, split_events
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, synthetic_catalog
from atmo.settings import build_block
from atmo.settings.workflow import validate_workflow_config

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"


def _nowcast(name: str) -> dict:
    return validate_workflow_config(yaml.safe_load((CONFIG_DIR / name).read_text()))["nowcast"]


@pytest.fixture(scope="module")
def leaderboard() -> dict:
    return _nowcast("sevir_vil.yaml")


def test_the_config_holds_earthformers_protocol(leaderboard: dict) -> None:
    cache = build_block(CacheConfig, leaderboard["cache"], "nowcast.cache")
    assert (cache.frames_in, cache.frames_out, cache.stride, cache.grid_size) == (13, 12, 12, 384)
    # SEVIR's three samples per event: [0:13] -> [13:25], [12:25] -> [25:37], [24:37] -> [37:49]
    starts = sample_starts(cache.frames_in, cache.frames_out, cache.stride)
    assert [(s, s + 13, s + 25) for s in starts] == [(0, 13, 25), (12, 25, 37), (24, 37, 49)]
    selection = build_block(Selection, leaderboard["selection"], "nowcast.selection")
    assert selection.modalities == ("vil",) and selection.require == ("vil",)
    assert set(selection.kinds) == {"storm", "random"}
    assert (selection.start, selection.end, selection.max_events, selection.event_types) == (None, None, None, ())
    split = build_block(SplitConfig, leaderboard["split"], "nowcast.split")
    assert (split.method, split.train_end, split.val_end) == ("date", "2019-01-01", "2019-06-01")
    scoring = build_block(ScoringConfig, leaderboard["scoring"], "nowcast.scoring")
    assert scoring.thresholds == (16, 74, 133, 160, 181, 219) and scoring.unreached_threshold == "zero"


def test_it_reads_the_real_source_of_full_yaml_and_runs_its_models_at_their_sizes(leaderboard: dict) -> None:
    full = _nowcast("full.yaml")
    assert leaderboard["source"] == full["source"] == "sevir_s3" and leaderboard["sevir"] == full["sevir"]
    for name in ("sgt", "unet", "convlstm"):
        assert leaderboard["models"][name] == full["models"][name], name
    assert sorted(leaderboard["models"]) == ["convlstm", "sgt", "unet"]
    assert leaderboard["baselines"] == ["persistence", "optical_flow"]
    assert leaderboard["train"] == full["train"]
    check_comparison(leaderboard)  # names only entries it runs
    # the default config keeps the skip rule (its small synthetic test set may not reach VIP 219)
    assert _nowcast("config.yaml")["scoring"]["unreached_threshold"] == "skip"
    assert _nowcast("full.yaml")["scoring"]["unreached_threshold"] == "skip"


def test_the_cache_keeps_sevirs_384_pixel_vil_as_stored() -> None:
    codes = np.random.default_rng(0).integers(0, 255, size=(384, 384, N_FRAMES)).astype(np.float32)
    frames = resample(codes, 384)
    assert frames.shape == (N_FRAMES, 384, 384)
    np.testing.assert_array_equal(frames, np.moveaxis(codes, -1, 0))  # identity: no interpolation at all


def test_the_selection_keeps_random_events_and_only_vil_rows(leaderboard: dict) -> None:
    catalog = synthetic_catalog(SyntheticSevirConfig(n_events=20, storm_fraction=0.5, missing_fraction=0.3))
    selected = select_events(
        catalog, build_block(Selection, leaderboard["selection"], "nowcast.selection"), where="CATALOG.csv"
    )
    vil_events = set(catalog.loc[catalog["img_type"] == "vil", "id"])
    assert set(selected["id"]) == vil_events  # every event with VIL, whatever else it lacks
    assert {event[0] for event in selected["id"]} == {"S", "R"}
    assert set(selected["img_type"]) == {"vil"}


def test_its_date_split_puts_events_on_the_right_side_of_each_boundary(leaderboard: dict) -> None:
    times = ["2018-12-31 23:55", "2019-01-01 00:00", "2019-05-31 23:55", "2019-06-01 00:00"]
    catalog = pd.DataFrame(
        {
            "id": [f"R19010100{i:04d}" for i in range(4)],
            "img_type": "vil",
            "time_utc": pd.to_datetime(times),
            "episode_id": np.nan,
            "event_type": np.nan,
        }
    )
    split = build_block(SplitConfig, leaderboard["split"], "nowcast.split")
    table = split_events(catalog, split, seed=0, where="catalog.csv")
    assert table["split"].tolist() == ["train", "val", "val", "test"]
