"""The CBH approaches, their seeds and what the comparisons name, read from the ``cbh`` config block.

Apart from :mod:`atmo.cbh.comparison` so that the workflow can read them at parse time without
importing pandas and matplotlib (as :mod:`atmo.cbh.products`).

- Every entry of ``cbh.models`` is a network ``model`` trained once per seed of its ``seeds`` list.
- The :data:`BASELINES` (climatology, the LCL, the shadow geometry raw and bias-calibrated, ridge
  and the gradient-boosted trees) are deterministic: one seed label, :data:`BASELINE_SEED`. The trees'
  ``HistGradientBoostingRegressor`` draws random numbers only for early stopping and feature
  subsampling, which ``cbh.gbdt`` does not use, so another seed would give the same trees.
- With ``cbh.source: synthetic`` the :data:`ORACLES` too (:mod:`atmo.cbh.oracle`): kind
  ``oracle``, one seed label, shown and never compared (no write-up pair may name it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atmo.errors import ConfigError
from atmo.settings import build_block, schema_default, settings_block
from atmo.settings.checks import check_comparison_names

#: In table order: the untrained references, then the ones fitted on the training flights.
BASELINES: tuple[str, ...] = ("climatology", "lcl", "geometry", "geometry_calibrated", "ridge", "gbdt")
#: What the synthetic generator knows (its noiseless cloud base); real campaign files have none.
ORACLES: tuple[str, ...] = ("oracle",)
#: The one seed label of a deterministic baseline.
BASELINE_SEED = "0"
#: The ``cbh.comparison`` block; by default the attention hybrid, and whether fusion helps (the schema's).
ComparisonSettings = settings_block("cbh", "comparison")


def oracles(block: Mapping[str, Any]) -> tuple[str, ...]:
    """:data:`ORACLES` for a synthetic campaign (``source`` as the config or the schema's default says), else none."""
    return ORACLES if block.get("source", schema_default("cbh", "source")) == "synthetic" else ()


def approach_kinds(block: Mapping[str, Any]) -> dict[str, str]:
    """``{approach: kind}``: the network variants are models, then the baselines, then any oracle."""
    return {
        **{name: "model" for name in block["models"]},
        **{name: "baseline" for name in BASELINES},
        **{name: "oracle" for name in oracles(block)},
    }


def approach_seeds(block: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{approach: [seed label, ...]}``: each model's ``seeds`` (default ``[0]``), one label per baseline or oracle."""
    seeds = {name: [str(seed) for seed in spec.get("seeds", [0])] for name, spec in block["models"].items()}
    return {**seeds, **{name: [BASELINE_SEED] for name in (*BASELINES, *oracles(block))}}


def check_model_names(block: Mapping[str, Any]) -> None:
    """:class:`ConfigError` when a ``cbh.models`` entry takes a baseline's or the oracle's name.

    The approaches share one namespace (prediction folders, reports, comparisons); a model named
    ``ridge`` would silently replace the ridge baseline.
    """
    for name in block["models"]:
        if name in (*BASELINES, *ORACLES):
            raise ConfigError(
                f"invalid config: key 'cbh.models.{name}': the name of a baseline or oracle "
                f"{sorted((*BASELINES, *ORACLES))}; choose another"
            )


def encoder_seeds(block: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{encoder: [seed label, ...]}``: the seeds some model that freezes the encoder trains with.

    A network job with seed ``s`` freezes the MAE encoder pretrained with seed ``s``, so the seed varies
    the whole pipeline; an encoder is pretrained only for the seeds its models use.
    """
    seeds: dict[str, list[str]] = {name: [] for name in block["mae"]["encoders"]}
    for spec in block["models"].values():
        encoder = seeds.setdefault(spec.get("encoder", "column"), [])
        encoder += [str(seed) for seed in spec.get("seeds", [0]) if str(seed) not in encoder]
    return {name: sorted(labels, key=int) for name, labels in seeds.items()}


def comparison_settings(block: Mapping[str, Any]) -> dict[str, Any]:
    """Only what :func:`atmo.cbh.comparison.plan` reads: the headline model and the write-up's pairs."""
    comparison = build_block(ComparisonSettings, block.get("comparison"), "cbh.comparison")
    return {"headline": comparison.headline, "write_up": [list(pair) for pair in comparison.write_up]}


def check_comparison(block: Mapping[str, Any]) -> None:
    """:class:`ConfigError` (one line naming the key) when ``cbh.comparison`` names an approach that does not run.

    The headline must be a network model; a write-up pair may name models and baselines (never the
    oracle, which is not compared), but each of its two approaches must exist and differ (a pair
    with itself has no difference to test).
    """
    settings = comparison_settings(block)
    check_comparison_names(
        "cbh.comparison",
        headline=settings["headline"],
        models=block["models"],
        pairs_key="write_up",
        pairs=settings["write_up"],
        entries=[name for name, kind in approach_kinds(block).items() if kind != "oracle"],
    )
