"""nowcast's forecasters: their roles and seed labels from the config block, and the run every file is named after."""

from __future__ import annotations

from atmo.nowcast.products import DETERMINISTIC_SEED, kinds, run_name, seed_labels

BLOCK = {
    "source": "synthetic",
    "models": {"sgt": {"kind": "model", "seeds": [1, 2]}, "sgt_no_gnn": {"kind": "ablation", "seeds": [1]}},
    "baselines": {"persistence": {}, "optical_flow": {}},
}


def test_models_keep_their_kind_and_seeds_and_the_deterministic_forecasters_have_one_label() -> None:
    assert kinds(BLOCK) == {
        "sgt": "model",
        "sgt_no_gnn": "ablation",
        "persistence": "baseline",
        "optical_flow": "baseline",
        "oracle": "oracle",
    }
    labels = seed_labels(BLOCK)
    assert labels["sgt"] == ["1", "2"] and labels["oracle"] == labels["persistence"] == [DETERMINISTIC_SEED]
    assert "oracle" not in kinds({**BLOCK, "source": "sevir_s3"}), "real SEVIR has no generator to ask"
    assert run_name("sgt", 2) == "sgt/seed2"
