"""The downscale comparison plan: compared products fixed by the config, the pairs, the headline, the checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from atmo.downscale.comparison import CRPS, compared_entries, plan, plan_settings, resolve
from atmo.errors import ConfigError
from atmo.metrics.paired import BootstrapSettings
from atmo.publish.comparisons import Entry, compare
from atmo.settings.workflow import validate_workflow_config

CONFIG_DIR = Path(__file__).resolve().parents[3] / "config"

BLOCK = {
    "source": "synthetic",
    "variants": {"v1": {}, "v2": {}, "v3": {}, "v2_first_two": {}},
    "sampling": {"epochs": [15, 30], "modes": ["prior", "posterior"]},
    "comparison": {"headline": "v2", "epoch": "last", "mode": "prior", "pairs": [["v2", "v1"], ["v3", "v2"]]},
}


def _settings(**comparison) -> dict:
    return plan_settings({**BLOCK, "comparison": {**BLOCK["comparison"], **comparison}})


def test_each_variant_is_compared_at_the_configured_epoch_and_mode() -> None:
    kinds = compared_entries(_settings())
    assert kinds == {
        "v1/epoch30_prior": "model",
        "v2/epoch30_prior": "model",
        "v3/epoch30_prior": "model",
        "v2_first_two/epoch30_prior": "model",
        "v2/epoch30_posterior": "ablation",  # the headline's other mode: never against a baseline
        "baseline/bicubic": "baseline",
        "baseline/bicubic_noise": "baseline",
        "baseline/rainfarm": "baseline",
        "oracle/generator": "oracle",  # the synthetic generator's own ensemble: shown, never compared
    }
    assert set(compared_entries(_settings(epoch=15, mode="posterior"))) >= {"v1/epoch15_posterior", "v2/epoch15_prior"}


def test_the_plan_names_the_headline_the_write_up_pairs_and_prior_against_posterior() -> None:
    bootstrap = BootstrapSettings(n_boot=200, block_length=4)
    made = plan(_settings(), bootstrap)
    assert made.headline == "v2/epoch30_prior" and made.metric is CRPS and not made.metric.higher_is_better
    assert made.resampling.scheme == "moving_block" and made.resampling.block_length == 4
    assert list(made.write_up) == [
        ("v2/epoch30_prior", "baseline/bicubic"),  # the headline (the config's "best cVAE") against every baseline
        ("v2/epoch30_prior", "baseline/bicubic_noise"),
        ("v2/epoch30_prior", "baseline/rainfarm"),
        ("v2/epoch30_prior", "v1/epoch30_prior"),
        ("v3/epoch30_prior", "v2/epoch30_prior"),
        ("v2/epoch30_prior", "v2/epoch30_posterior"),
    ]
    assert made.unit_name == "test days" and not made.ablations


def test_without_pairs_the_headline_is_compared_with_every_other_variant() -> None:
    settings = _settings(pairs=None, headline=None)  # headline null: the first variant
    assert plan(settings, BootstrapSettings()).headline == "v1/epoch30_prior"
    assert resolve(settings).pairs == (("v1", "v2"), ("v1", "v3"), ("v1", "v2_first_two"))


def test_one_sampled_mode_has_no_prior_posterior_pair() -> None:
    settings = plan_settings({**BLOCK, "sampling": {"epochs": [30], "modes": ["prior"]}})
    assert "v2/epoch30_posterior" not in compared_entries(settings)
    assert all("posterior" not in b for _, b in plan(settings, BootstrapSettings()).write_up)


def test_real_data_have_no_oracle() -> None:
    kinds = compared_entries(plan_settings({**BLOCK, "source": "local"}))
    assert "oracle" not in kinds.values() and kinds["baseline/rainfarm"] == "baseline"


@pytest.mark.parametrize(
    ("comparison", "message"),
    [
        ({"headline": "v9"}, "downscale.comparison.headline': 'v9' is not one of ['v1', 'v2'"),
        ({"epoch": 20}, "downscale.comparison.epoch': 20 is not among the sampled epochs"),
        ({"pairs": [["v2", "v7"]]}, "downscale.comparison.pairs[0]': 'v7' is not one of"),
        ({"pairs": [["v2", "v2"]]}, "downscale.comparison.pairs[0]': 'v2' against itself"),
        ({"mode": "posterior_mean"}, "downscale.comparison.mode'"),
    ],
)
def test_a_comparison_naming_what_is_not_run_is_one_line(comparison: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=None) as error:
        resolve(_settings(**comparison))
    assert message in str(error.value)


def _days(crps_per_day: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "unit": [f"2001-01-{d + 1:02d}" for d in range(len(crps_per_day))],
            "crps_sum_mm": crps_per_day * 100.0,
            "n_pixels": 100,
            "abs_error_sum_mm": crps_per_day * 120.0,
        }
    )


def test_compared_with_the_shared_layer_the_headline_is_against_the_best_baseline() -> None:
    rng = np.random.default_rng(0)
    base = rng.gamma(2.0, 1.0, 40)
    settings = _settings()
    crps = {
        "v1/epoch30_prior": base * 0.8,
        "v2/epoch30_prior": base * 0.6,
        "v3/epoch30_prior": base * 0.6 + rng.normal(0, 0.01, 40),
        "v2_first_two/epoch30_prior": base * 0.7,
        "v2/epoch30_posterior": base * 0.3,
        "baseline/bicubic": base,
        "baseline/bicubic_noise": base * 0.9,
        "baseline/rainfarm": base * 0.95,
        "oracle/generator": base * 0.1,
    }
    kinds = compared_entries(settings)
    entries = [Entry(name, kinds[name], {"0": _days(values)}) for name, values in crps.items()]
    record = compare(entries, plan(settings, BootstrapSettings(n_boot=300, block_length=3)))
    assert record["best_baseline"] == "baseline/bicubic_noise" and record["n_units"] == 40
    headline = record["headline"]
    assert (headline["a"], headline["b"], headline["verdict"]) == (
        "v2/epoch30_prior",
        "baseline/bicubic_noise",
        "beats",
    )
    assert headline["estimate"] == pytest.approx(-0.3 * base.mean())
    by_pair = {(r["a"], r["b"]): r for r in record["comparisons"]}
    assert by_pair[("v2/epoch30_prior", "v1/epoch30_prior")]["verdict"] == "beats"
    assert by_pair[("v2/epoch30_prior", "v2/epoch30_posterior")]["verdict"] == "loses"
    assert by_pair[("v3/epoch30_prior", "v2/epoch30_prior")]["verdict"] == "does not separate"
    assert not any(r["a"] == "v2/epoch30_posterior" and r["role"] == "vs best baseline" for r in record["comparisons"])
    # the headline against each baseline, the best one once; the oracle is never compared, only its mean shown
    against = {r["b"]: r["role"] for r in record["comparisons"] if r["a"] == "v2/epoch30_prior" and "/" in r["b"]}
    assert {b: role for b, role in against.items() if b.startswith("baseline/")} == {
        "baseline/bicubic_noise": "vs best baseline",
        "baseline/bicubic": "write-up",
        "baseline/rainfarm": "write-up",
    }
    assert not any("oracle/generator" in (r["a"], r["b"]) for r in record["comparisons"])
    assert record["entries"]["oracle/generator"]["mean"] == pytest.approx(0.1 * base.mean())


@pytest.mark.parametrize("block", ["baselines", "scoring"])
def test_k_is_one_setting_a_second_k_for_one_ensemble_is_refused(block: str) -> None:
    """Every compared ensemble (cVAE samples, bicubic + noise, RainFARM, the oracle) takes K from
    downscale.sampling.k; a K anywhere else is an unknown key (the report also refuses files of mixed K)."""
    config = yaml.safe_load((CONFIG_DIR / "test.yaml").read_text())
    config["downscale"].setdefault(block, {})["k"] = 50
    with pytest.raises(ConfigError, match=rf"'downscale\.{block}\.k': unknown key"):
        validate_workflow_config(config)
