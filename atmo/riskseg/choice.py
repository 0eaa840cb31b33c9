"""The run's decision rule, chosen on the validation blocks only (never on the test blocks).

Whether probabilities become classes by ``argmax`` or by the ordinal ``median``
(:mod:`atmo.riskseg.decision`) is a modelling choice, so it is made like the best epoch: on data
no score is reported on. :func:`choose_decision` reads the tiles of the ``val`` split only
(:func:`atmo.riskseg.evaluate.split_tiles`), averages the full variant's seed probabilities there
(its ensemble, the product the rule is for), and keeps the rule with the best unweighted Cohen's
kappa on those pixels (:func:`atmo.metrics.pooled.cohen_kappa`, the metric the comparisons use);
a tie keeps ``argmax``, the seed's rule. ``riskseg.decision: auto`` takes that choice; a fixed rule
in the config is used as given, and the validation kappas are still recorded beside it.

The choice goes to ``decision.json`` (:func:`write_decision`), which the ensemble, CRF and score
jobs read (:func:`read_decision`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

import numpy as np

from atmo.errors import InputError
from atmo.io.atomic import write_json
from atmo.io.geotiff import GeoTiffWindows, check_same_grid, inspect_geotiff
from atmo.io.metrics_json import read_json_object
from atmo.metrics.categorical import ConfusionAccumulator
from atmo.metrics.pooled import cohen_kappa
from atmo.riskseg import CLASSES, LABEL_NODATA
from atmo.riskseg.decision import DECISIONS, decide
from atmo.riskseg.evaluate import SplitTile, split_tiles

log = logging.getLogger(__name__)

AUTO = "auto"
#: The split every choice is made on.
CHOICE_SPLIT = "val"


def validation_tiles(tiles_path: str | os.PathLike[str]) -> list[SplitTile]:
    """The tiles the choice may read: the validation split's, and nothing of train or test."""
    return split_tiles(tiles_path, CHOICE_SPLIT)


def validation_confusions(
    labels_path: str | os.PathLike[str],
    tiles: Sequence[SplitTile],
    probability_paths: Sequence[str | os.PathLike[str]],
    rules: Sequence[str] = DECISIONS,
) -> dict[str, np.ndarray]:
    """Per rule, the ``(3, 3)`` confusion matrix of the seeds' mean probabilities on ``tiles`` (labelled pixels)."""
    if not probability_paths:
        raise ValueError("the decision rule needs at least one probability raster")
    labels = inspect_geotiff(labels_path)
    for path in probability_paths:
        check_same_grid(labels, inspect_geotiff(path))
    accumulators = {rule: ConfusionAccumulator(len(CLASSES)) for rule in rules}
    with ExitStack() as stack:
        truth = stack.enter_context(GeoTiffWindows(labels.path))
        seeds = [stack.enter_context(GeoTiffWindows(path)) for path in probability_paths]
        for tile in tiles:
            true = truth.read(*tile.window)[0]
            stacked = np.stack([seed.read(*tile.window).astype(np.float64) for seed in seeds])
            if stacked.shape[1] != len(CLASSES):
                raise InputError(probability_paths[0], f"has {stacked.shape[1]} bands, expected {len(CLASSES)}")
            valid = (true != LABEL_NODATA) & np.isfinite(stacked).all(axis=(0, 1)) & (stacked >= 0).all(axis=(0, 1))
            mean = stacked.mean(axis=0)
            for rule, accumulator in accumulators.items():
                accumulator.update(true, decide(mean, rule), valid=valid)
    return {rule: accumulator.matrix for rule, accumulator in accumulators.items()}


def choose_decision(
    labels_path: str | os.PathLike[str],
    tiles_path: str | os.PathLike[str],
    probability_paths: Sequence[str | os.PathLike[str]],
    setting: str = AUTO,
) -> dict[str, Any]:
    """The decision record: the rule (``setting``, or validation's pick when ``auto``) and its evidence.

    Keys: ``decision``, ``setting``, ``chosen_by`` (``validation`` or ``config``), ``split``,
    ``metric``, ``validation_kappa`` (per rule), ``n_blocks``, ``n_pixels``.
    """
    if setting != AUTO and setting not in DECISIONS:
        raise ValueError(f"decision {setting!r} is not 'auto' or one of {list(DECISIONS)}")
    tiles = validation_tiles(tiles_path)
    matrices = validation_confusions(labels_path, tiles, probability_paths)
    metric = cohen_kappa(len(CLASSES))
    kappas = {rule: float(metric.formula(matrix.ravel().astype(np.float64))) for rule, matrix in matrices.items()}
    if setting == AUTO:
        ranked = [rule for rule in DECISIONS if np.isfinite(kappas[rule])]
        if not ranked:
            raise InputError(labels_path, "no labelled validation pixel: the decision rule cannot be chosen")
        chosen = max(ranked, key=lambda rule: kappas[rule])  # first of the best: a tie keeps argmax
    else:
        chosen = setting
    record = {
        "decision": chosen,
        "setting": setting,
        "chosen_by": "validation" if setting == AUTO else "config",
        "split": CHOICE_SPLIT,
        "metric": metric.name,
        "validation_kappa": {rule: (v if np.isfinite(v) else None) for rule, v in kappas.items()},
        "n_blocks": len({tile.block for tile in tiles}),
        "n_pixels": int(next(iter(matrices.values())).sum()),
        "probabilities": [str(path) for path in probability_paths],
    }
    log.info("decision %s (%s): validation kappa %s", chosen, record["chosen_by"], kappas)
    return record


def write_decision(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Write the decision record atomically."""
    write_json(path, record)


def read_decision(path: str | os.PathLike[str]) -> str:
    """The rule of a decision record; :class:`InputError` naming the file when it holds none."""
    record = read_json_object(path, "riskseg decision JSON")
    rule = record.get("decision")
    if rule not in DECISIONS:
        raise InputError(path, f"decision {rule!r} is not one of {list(DECISIONS)}")
    return rule
