"""atmo.nowcast.comparison: the plan's metric, units, headline, ablations and write-up pairs."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from atmo.errors import ConfigError
from atmo.metrics.paired import BootstrapSettings
from atmo.nowcast.comparison import check_comparison, comparison_settings, last_lead_plan, plan
from atmo.publish.comparisons import ABLATION, VS_BEST_BASELINE, WRITE_UP, Entry, compare

BLOCK = {
    "scoring": {"thresholds": [16, 74]},
    "comparison": {"headline": "sgt", "write_up": [["sgt", "unet"], ["sgt", "convlstm"]]},
    "models": {
        "sgt": {"arch": "sgt", "kind": "model", "seeds": [0, 1, 2]},
        "unet": {"arch": "unet", "kind": "model", "seeds": [0]},
        "convlstm": {"arch": "convlstm", "kind": "model", "seeds": [0]},
        "sgt_no_gnn": {"arch": "sgt", "kind": "ablation", "seeds": [0]},
        "big_no_gnn": {"arch": "sgt", "kind": "ablation", "ablation_of": "unet", "seeds": [0]},
    },
}


def _units(hits: int, seed: int) -> pd.DataFrame:
    """Three episodes; ``hits`` out of 10 events at both thresholds, a little noise per seed."""
    rng = np.random.default_rng(seed)
    frame = {"unit": ["episode 1", "episode 2", "R1"]}
    for t in (16, 74):
        h = np.clip(hits + rng.integers(-1, 2, 3), 0, 10)
        frame |= {f"hits_{t}": h, f"misses_{t}": 10 - h, f"false_alarms_{t}": np.full(3, 2)}
        frame |= {f"hits_{t}_lead12": h // 2, f"misses_{t}_lead12": 5 - h // 2, f"false_alarms_{t}_lead12": [1, 1, 1]}
    return pd.DataFrame(frame)


def test_settings_read_only_what_the_plan_needs_and_ablations_default_to_the_headline() -> None:
    settings = comparison_settings(BLOCK)
    assert settings == {
        "thresholds": [16, 74],
        "unreached_threshold": "skip",
        "headline": "sgt",
        "ablations": {"sgt_no_gnn": "sgt", "big_no_gnn": "unet"},
        "write_up": [["sgt", "unet"], ["sgt", "convlstm"]],
    }
    assert comparison_settings({**BLOCK, "comparison": {}})["headline"] == "sgt"


def test_plan_compares_csi_m_over_episodes_headline_ablations_and_write_up() -> None:
    settings = comparison_settings(BLOCK)
    nowcast = plan(settings, BootstrapSettings(n_boot=200))
    assert nowcast.metric.name == "csi_m"
    assert nowcast.metric.statistics == tuple(f"{c}_{t}" for t in (16, 74) for c in ("hits", "misses", "false_alarms"))
    assert nowcast.resampling.scheme == "units" and nowcast.unit_name == "test episodes"
    entries = [
        Entry("sgt", "model", {str(s): _units(8, s) for s in range(3)}),
        Entry("unet", "model", {"0": _units(5, 10)}),
        Entry("convlstm", "model", {"0": _units(4, 11)}),
        Entry("persistence", "baseline", {"0": _units(3, 12)}),
        Entry("optical_flow", "baseline", {"0": _units(4, 13)}),
        Entry("sgt_no_gnn", "ablation", {"0": _units(8, 14)}),
    ]
    record = compare(entries, nowcast)
    got = [(r["a"], r["b"], r["role"]) for r in record["comparisons"]]
    assert got == [
        ("sgt", "optical_flow", VS_BEST_BASELINE),
        ("unet", "optical_flow", VS_BEST_BASELINE),
        ("convlstm", "optical_flow", VS_BEST_BASELINE),
        ("sgt_no_gnn", "sgt", ABLATION),
        ("sgt", "unet", WRITE_UP),
        ("sgt", "convlstm", WRITE_UP),
    ]  # big_no_gnn is not trained here: left out
    assert record["headline"]["a"] == "sgt" and record["headline"]["b"] == "optical_flow"
    assert record["headline"]["n_seeds_a"] == 3 and record["headline"]["n_units"] == 3


def test_last_lead_plan_reads_the_last_leads_counts() -> None:
    last = last_lead_plan(comparison_settings(BLOCK), BootstrapSettings(), 12, 60)
    assert last.metric.label == "CSI-M 60 min" and last.metric.name == "csi_m_lead12"
    assert last.metric.statistics[:3] == ("hits_16_lead12", "misses_16_lead12", "false_alarms_16_lead12")
    assert last.write_up == [("sgt", "unet"), ("sgt", "convlstm")] and last.headline == "sgt"


def test_the_plans_follow_the_scoring_rule_for_a_threshold_the_truth_never_reaches() -> None:
    """16: H 3, M 1, F 0 -> CSI 3/4; 74: H 0, M 0, F 2 (never reached). skip: 3/4; zero: 3/8."""
    sums = np.array([3, 1, 0, 0, 0, 2], dtype=float)
    for rule, expected in (("skip", 3 / 4), ("zero", 3 / 8)):
        settings = comparison_settings({**BLOCK, "scoring": {"thresholds": [16, 74], "unreached_threshold": rule}})
        assert settings["unreached_threshold"] == rule
        for metric in (
            plan(settings, BootstrapSettings()).metric,
            last_lead_plan(settings, BootstrapSettings(), 12, 60).metric,
        ):
            assert float(metric.formula(sums)) == pytest.approx(expected), (rule, metric.name)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"comparison": {"headline": "sgtt"}}, "key 'nowcast.comparison.headline': 'sgtt' is not one of"),
        ({"comparison": {"write_up": [["sgt", "unett"]]}}, "key 'nowcast.comparison.write_up[0]': 'unett' is not"),
        ({"comparison": {"write_up": [["sgt", "sgt"]]}}, "write_up[0]': 'sgt' against itself"),
    ],
)
def test_a_comparison_naming_an_entry_that_does_not_run_is_one_line(edit: dict, message: str) -> None:
    check_comparison(BLOCK)
    with pytest.raises(ConfigError, match=re.escape(message)):
        check_comparison({**BLOCK, **edit})


def test_an_ablation_of_an_entry_that_does_not_run_is_one_line() -> None:
    models = {**BLOCK["models"], "sgt_no_gnn": {"kind": "ablation", "ablation_of": "sgt_full"}}
    with pytest.raises(ConfigError, match=re.escape("key 'nowcast.models.sgt_no_gnn.ablation_of': 'sgt_full'")):
        check_comparison({**BLOCK, "models": models})
