"""atmo.nowcast.split: date and fraction splits, episodes kept together, empty splits refused."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atmo.errors import ConfigError, InputError
from atmo.nowcast.split import SplitConfig, read_split, split_events, write_split
from atmo.settings import build_block


def _catalog(times: list[str], episodes: list[float]) -> pd.DataFrame:
    """Minimal catalog: one VIL row per event (only the columns the split reads)."""
    ids = [f"S{700000 + i}" if not np.isnan(e) else f"R1901010000{i:04d}" for i, e in enumerate(episodes)]
    return pd.DataFrame(
        {
            "id": ids,
            "img_type": "vil",
            "time_utc": pd.to_datetime(times, format="ISO8601"),
            "episode_id": episodes,
            "event_type": "Hail",
        }
    )


def test_date_split_uses_the_boundaries() -> None:
    times = ["2018-03-01", "2018-12-31 23:59", "2019-01-01", "2019-05-31", "2019-06-01", "2019-11-11"]
    episodes = [1.0, 2.0, 3.0, np.nan, 5.0, np.nan]  # one event per episode, and random events
    table = split_events(_catalog(times, episodes), SplitConfig(method="date"), seed=0, where="c.csv")
    assert table["split"].tolist() == ["train", "train", "val", "val", "test", "test"]


def test_date_split_puts_an_episode_across_a_boundary_whole_where_its_first_event_falls() -> None:
    # episode 7 spans 2019-01-01 (first event in 2018), episode 8 spans 2019-06-01 (first event in May),
    # episode 9 starts exactly at 2019-06-01; random events (no episode) go by their own time.
    times = [
        "2018-12-31 22:00", "2019-01-01 01:00", "2019-01-02",  # episode 7
        "2019-05-31 23:00", "2019-06-01 00:00", "2019-06-01 04:00",  # episode 8
        "2019-06-01 00:00", "2019-06-02",  # episode 9
        "2018-12-31 23:59", "2019-01-01 00:00", "2019-05-31 23:59", "2019-06-01 00:00",  # random
    ]  # fmt: skip
    episodes = [7.0] * 3 + [8.0] * 3 + [9.0] * 2 + [np.nan] * 4
    catalog = _catalog(times, episodes)
    table = split_events(catalog, SplitConfig(method="date"), seed=0, where="c.csv").set_index("id")
    split = table.loc[catalog["id"], "split"].tolist()
    assert split[:3] == ["train"] * 3  # not val for its 2019 events
    assert split[3:6] == ["val"] * 3  # not test for its June events
    assert split[6:8] == ["test"] * 2  # the boundary itself is the later side
    assert split[8:] == ["train", "val", "val", "test"]


def test_fraction_split_keeps_episodes_together_and_is_deterministic() -> None:
    episodes = [float(i // 3) for i in range(30)] + [np.nan] * 10
    times = pd.date_range("2018-01-01", periods=40, freq="7D").astype(str).tolist()
    catalog = _catalog(times, episodes)
    cfg = SplitConfig(method="fraction", val_fraction=0.2, test_fraction=0.2)
    table = split_events(catalog, cfg, seed=4, where="c.csv")
    assert table.equals(split_events(catalog, cfg, seed=4, where="c.csv"))
    assert not table.equals(split_events(catalog, cfg, seed=5, where="c.csv"))
    merged = table.merge(catalog[["id", "episode_id"]], on="id")
    per_episode = merged.dropna(subset=["episode_id"]).groupby("episode_id")["split"].nunique()
    assert (per_episode == 1).all()
    counts = table["split"].value_counts()
    assert counts["test"] >= 6 and counts["val"] >= 6 and counts["train"] > counts["val"]
    assert table["id"].is_unique


def test_empty_date_split_names_the_dates_and_the_range_of_the_events() -> None:
    catalog = _catalog(["2018-03-01", "2018-04-01", "2018-05-01"], [1.0, 2.0, 3.0])
    with pytest.raises(InputError) as caught:
        split_events(catalog, SplitConfig(method="date"), seed=0, where="c.csv")
    assert str(caught.value) == (
        "c.csv: split val and test would be empty (train 3, val 0, test 0 of 3 events): with method date "
        "(train before 2019-01-01, val before 2019-06-01) and events from 2018-03-01 to 2018-05-01; "
        "move nowcast.split.train_end / val_end into that range"
    )


def test_events_of_one_episode_say_that_the_fraction_split_needs_more_episodes() -> None:
    times = pd.date_range("2018-01-01", periods=21, freq="1D").astype(str).tolist()
    catalog = _catalog(times, [7.0] * 21)  # every row shares one episode_id
    with pytest.raises(InputError) as caught:
        split_events(catalog, SplitConfig(method="fraction", val_fraction=0.2, test_fraction=0.2), 0, "c.csv")
    message = str(caught.value)
    assert message.startswith("c.csv: split train and val would be empty (train 0, val 0, test 21 of 21 events): ")
    assert "fall into 1 episode(s) (episode_id), fewer than the 3 splits need" in message
    assert "np.int64" not in message and "\n" not in message


@pytest.mark.parametrize(
    ("fractions", "message"),
    [
        ((0.0, 0.3), r"key 'nowcast.split.val_fraction': expected > 0: model selection needs validation events"),
        ((0.2, 0.0), r"key 'nowcast.split.test_fraction': expected > 0: scoring needs test events"),
        ((0.5, 0.5), r"key 'nowcast.split.test_fraction': val_fraction \+ test_fraction = 1 leaves no training"),
    ],
)
def test_fractions_that_leave_a_split_empty_are_config_errors(fractions: tuple[float, float], message: str) -> None:
    val, test = fractions
    with pytest.raises(ConfigError, match=message):
        build_block(SplitConfig, {"method": "fraction", "val_fraction": val, "test_fraction": test}, "nowcast.split")


def test_split_table_round_trip(tmp_path: Path) -> None:
    table = split_events(
        _catalog(["2018-03-01", "2019-02-01", "2019-07-01"], [1.0, 2.0, 3.0]), SplitConfig(method="date"), 0, "c"
    )
    write_split(tmp_path / "split.csv", table)
    back = read_split(tmp_path / "split.csv")
    assert back["id"].tolist() == table["id"].tolist() and back["split"].tolist() == ["train", "val", "test"]
    (tmp_path / "bad.csv").write_text("id,split,time_utc\nS1,holdout,2019-01-01\n")
    with pytest.raises(InputError, match="unknown split label"):
        read_split(tmp_path / "bad.csv")
