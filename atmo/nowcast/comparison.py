"""What the nowcast experiment compares, and how: the plan read by the shared comparisons step.

- **Metric**: CSI-M, the mean over ``nowcast.scoring.thresholds`` of the CSI re-formed from hits,
  misses and false alarms summed over the resampled units (a threshold the resampled truth never
  reaches is left out or counted as 0 by ``nowcast.scoring.unreached_threshold``, as in the score
  files' ``csi_m``).
- **Units**: test episodes (:mod:`atmo.nowcast.units`): storm events of one NWS episode are
  correlated, so whole episodes are resampled (scheme ``units``), then each entry's seeds.
- **Pairs**: the headline model (``nowcast.comparison.headline``, the SGT) and every other model
  against the best baseline; every ablation against the model it switches a part off in (its
  ``ablation_of``, by default the headline); the write-up's pairs (``nowcast.comparison.write_up``:
  SGT vs UNet, SGT vs ConvLSTM).

:func:`last_lead_plan` is the same plan on the last lead's counts alone (the 60-minute table).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from atmo.errors import ConfigError
from atmo.metrics.contingency import threshold_label
from atmo.metrics.paired import BootstrapSettings, Resampling
from atmo.metrics.pooled import mean_csi
from atmo.publish.comparisons import Plan, compare, read_entries
from atmo.settings import build_block, schema_default, settings_block
from atmo.settings.checks import check_comparison_names

UNIT_NAME = "test episodes"


def lead_label(threshold: float, lead: int) -> str:
    """The threshold label of one lead's counts: ``74_lead12`` (``csi_statistics`` makes ``hits_74_lead12``).

    Here, not in :mod:`atmo.nowcast.units`, which loads torch: the rules import this module while parsing.
    """
    return f"{threshold_label(threshold)}_lead{lead}"


#: The ``nowcast.comparison`` block (the headline model and the write-up's pairs).
ComparisonSettings = settings_block("nowcast", "comparison")


def comparison_settings(block: Mapping[str, Any]) -> dict[str, Any]:
    """Only what :func:`plan` reads from the ``nowcast`` config block (the comparisons rule's params).

    ``ablations``: each ``kind: ablation`` entry -> its ``ablation_of`` (default: the headline). A
    hand-written block without ``comparison`` or ``scoring.unreached_threshold`` gets the schema's defaults.
    """
    comparison = build_block(ComparisonSettings, block.get("comparison"), "nowcast.comparison")
    headline = comparison.headline
    ablations = {
        name: spec.get("ablation_of") or headline
        for name, spec in block["models"].items()
        if spec.get("kind") == "ablation"
    }
    return {
        "thresholds": list(block["scoring"]["thresholds"]),
        "unreached_threshold": block["scoring"].get(
            "unreached_threshold", schema_default("nowcast", "scoring.unreached_threshold")
        ),
        "headline": headline,
        "ablations": ablations,
        "write_up": [list(pair) for pair in comparison.write_up],
    }


def check_comparison(block: Mapping[str, Any]) -> None:
    """``nowcast.comparison`` and every ``ablation_of`` name entries that run; one-line ConfigError otherwise."""
    settings = comparison_settings(block)
    entries = [*block["models"], *block.get("baselines", [])]
    check_comparison_names(
        "nowcast.comparison",
        headline=settings["headline"],
        models=block["models"],
        pairs_key="write_up",
        pairs=settings["write_up"],
        entries=entries,
    )
    for ablation, full in settings["ablations"].items():
        if full not in block["models"] or full == ablation:
            raise ConfigError(
                f"invalid config: key 'nowcast.models.{ablation}.ablation_of': {full!r} is not another entry of "
                f"nowcast.models {sorted(block['models'])}"
            )


def plan(settings: Mapping[str, Any], bootstrap: BootstrapSettings) -> Plan:
    """The nowcast plan: CSI-M over the configured thresholds, test episodes resampled, the named pairs."""
    return _plan(settings, bootstrap, mean_csi(settings["thresholds"], unreached=settings["unreached_threshold"]))


def last_lead_plan(settings: Mapping[str, Any], bootstrap: BootstrapSettings, lead: int, minutes: float) -> Plan:
    """The same pairs on the CSI-M of lead ``lead`` alone (``minutes`` ahead), from its own counts."""
    labels = [lead_label(t, lead) for t in settings["thresholds"]]
    metric = mean_csi(
        labels, name=f"csi_m_lead{lead}", label=f"CSI-M {minutes:g} min", unreached=settings["unreached_threshold"]
    )
    return _plan(settings, bootstrap, metric)


def _plan(settings: Mapping[str, Any], bootstrap: BootstrapSettings, metric: Any) -> Plan:
    return Plan(
        metric=metric,
        resampling=Resampling("units", bootstrap),
        unit_name=UNIT_NAME,
        headline=settings["headline"],
        ablations=dict(settings["ablations"]),
        write_up=[(a, b) for a, b in settings["write_up"]],
    )


def compare_last_lead(
    unit_paths: Mapping[str, Mapping[str, str | os.PathLike[str]]],
    kinds: Mapping[str, str],
    settings: Mapping[str, Any],
    bootstrap: BootstrapSettings,
    lead: int,
    minutes: float,
) -> dict[str, Any]:
    """The comparisons record of :func:`last_lead_plan` (what the 60-minute table's intervals show)."""
    return compare(read_entries(unit_paths, kinds), last_lead_plan(settings, bootstrap, lead, minutes))
