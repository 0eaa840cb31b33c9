"""What the downscale experiment compares, fixed by the config before any test day is scored.

The cVAE is sampled at several checkpoint epochs and in two modes, so "the" product of a variant
has to be named in advance, never picked as the best one on the test days. ``downscale.comparison``
names it: the ``mode`` (``prior``, the downscaling from the coarse input alone, is what the write-up
asks about) at the checkpoint ``epoch`` (``last``: the largest sampled epoch). Then:

- every variant's compared product is an entry of kind ``model``, compared with the best baseline
  (bicubic, bicubic + training-residual noise or RainFARM, whichever has the lower seed-mean CRPS);
- the **headline** is the write-up's main variant (``headline``, fixed in the config: the "best
  cVAE" is named before any test day is scored, never picked on them) against that baseline, and
  against each other baseline too (write-up pairs);
- the **write-up pairs** are the decoder options against each other (``pairs``; by default the
  headline against every other variant), and the headline's prior against its posterior product
  (entry kind ``ablation``: it encodes the truth into z, so it is never compared with a baseline);
- the synthetic source's **oracle** (:mod:`atmo.downscale.oracle`) is an entry of kind ``oracle``:
  its mean is shown, it is never compared;
- the metric is the per-pixel CRPS re-formed from each test day's CRPS sum and pixel count
  (:func:`atmo.downscale.scoring.day_statistics`), and the units are the test days in time order,
  resampled in circular moving blocks of ``downscale.bootstrap.block_length`` days (neighbouring
  days share weather; :mod:`atmo.metrics.paired`).

:func:`compared_entries` and :func:`plan` read the same settings (:func:`plan_settings`), so the
rule that gathers the unit statistics files and the plan cannot disagree on the names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atmo.downscale.products import BASELINE_PRODUCTS, ORACLE_PRODUCT, product_name
from atmo.errors import ConfigError
from atmo.metrics.paired import BootstrapSettings, Resampling
from atmo.metrics.pooled import ratio
from atmo.publish.comparisons import Plan
from atmo.settings import build_block, settings_block
from atmo.settings.checks import check_comparison_names

#: The statistics of one test day (columns of the unit statistics file) and the metric they re-form.
CRPS = ratio("crps_mm", "CRPS (mm)", "crps_sum_mm", "n_pixels", higher_is_better=False)
UNIT_NAME = "test days"
WHERE = "downscale.comparison"


class ComparisonSettings(settings_block("downscale", "comparison")):
    """The ``downscale.comparison`` block: the compared product of each variant and the write-up's pairs."""


@dataclass(frozen=True)
class Resolved:
    """The comparison settings resolved against the variants and the sampled epochs and modes."""

    headline: str
    epoch: int
    mode: str
    pairs: tuple[tuple[str, str], ...]
    other_mode: str | None

    def product(self, variant: str, mode: str | None = None) -> str:
        return product_name(variant, self.epoch, mode or self.mode)


def plan_settings(block: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a ``downscale`` config block the comparisons read (a rule's params: nothing else)."""
    return {
        "variants": list(block["variants"]),
        "epochs": list(block["sampling"]["epochs"]),
        "modes": list(block["sampling"]["modes"]),
        "comparison": dict(block.get("comparison") or {}),
        "oracle": block["source"] == "synthetic",
    }


def resolve(settings: Mapping[str, Any]) -> Resolved:
    """Check ``comparison`` against the variants, epochs and modes; :class:`ConfigError` naming the key."""
    variants, epochs, modes = list(settings["variants"]), list(settings["epochs"]), list(settings["modes"])
    config = build_block(ComparisonSettings, settings["comparison"], WHERE)
    headline = config.headline if config.headline is not None else variants[0]
    pairs = config.pairs if config.pairs is not None else tuple((headline, v) for v in variants if v != headline)
    check_comparison_names(WHERE, headline=headline, models=variants, pairs_key="pairs", pairs=pairs, entries=variants)
    epoch = max(epochs) if config.epoch == "last" else int(config.epoch)
    if epoch not in epochs:
        raise ConfigError(f"invalid config: key '{WHERE}.epoch': {epoch} is not among the sampled epochs {epochs}")
    if config.mode not in modes:
        raise ConfigError(f"invalid config: key '{WHERE}.mode': {config.mode!r} is not among the sampled modes {modes}")
    other = next((m for m in modes if m != config.mode), None)
    return Resolved(headline, epoch, config.mode, tuple((str(a), str(b)) for a, b in pairs), other)


def compared_entries(settings: Mapping[str, Any]) -> dict[str, str]:
    """Every compared product -> its kind: each variant's product (``model``), the headline's other mode
    (``ablation``: compared with its prior only), the baselines (``baseline``) and, for synthetic data,
    the oracle (``oracle``)."""
    resolved = resolve(settings)
    kinds = {resolved.product(variant): "model" for variant in settings["variants"]}
    if resolved.other_mode is not None:
        kinds[resolved.product(resolved.headline, resolved.other_mode)] = "ablation"
    kinds.update(dict.fromkeys(BASELINE_PRODUCTS, "baseline"))
    if settings.get("oracle"):
        kinds[ORACLE_PRODUCT] = "oracle"
    return kinds


def plan(settings: Mapping[str, Any], bootstrap: BootstrapSettings) -> Plan:
    """The downscale comparisons: CRPS over test days in moving blocks, the headline (also against every
    baseline) and the write-up's pairs."""
    resolved = resolve(settings)
    headline = resolved.product(resolved.headline)
    write_up: list[tuple[str, str]] = [(headline, baseline) for baseline in BASELINE_PRODUCTS]
    write_up += [(resolved.product(a), resolved.product(b)) for a, b in resolved.pairs]
    if resolved.other_mode is not None:
        write_up.append((resolved.product(resolved.headline), resolved.product(resolved.headline, resolved.other_mode)))
    return Plan(
        metric=CRPS,
        resampling=Resampling("moving_block", bootstrap),
        unit_name=UNIT_NAME,
        headline=headline,
        write_up=tuple(write_up),
    )
