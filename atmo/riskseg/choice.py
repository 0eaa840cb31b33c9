"""A variant's decision rule, fitted on the validation blocks only (never on the test blocks).

How probabilities become classes (argmax, the ordinal median or two cumulative thresholds,
:mod:`atmo.riskseg.decision`) is a modelling choice, so it is made like the best epoch: on data no
score is reported on. :func:`choose_decision` reads the tiles of the ``val`` split only
(:func:`atmo.riskseg.evaluate.split_tiles`), averages the variant's seed probabilities there (its
ensemble, the product the rule is for), and fits the rule to the configured criterion
(:mod:`atmo.riskseg.decision_fit`: by default the best unweighted kappa with class-2 recall >= 0.93).
Each variant gets its own rule: a softmax and a CORAL head give differently calibrated
probabilities, and one set of thresholds for both would judge one head by the other's rule.

The choice goes to the variant's decision JSON (:func:`write_decision`), which its ensemble, CRF
and score jobs read (:func:`read_decision`).
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
from atmo.riskseg import CLASSES, LABEL_NODATA
from atmo.riskseg.decision import Decision
from atmo.riskseg.decision_fit import AUTO, DecisionSettings, ValidationCounts, select
from atmo.riskseg.evaluate import SplitTile, split_tiles

log = logging.getLogger(__name__)

#: The split every choice is made on.
CHOICE_SPLIT = "val"


def validation_tiles(tiles_path: str | os.PathLike[str]) -> list[SplitTile]:
    """The tiles the choice may read: the validation split's, and nothing of train or test."""
    return split_tiles(tiles_path, CHOICE_SPLIT)


def validation_counts(
    labels_path: str | os.PathLike[str],
    tiles: Sequence[SplitTile],
    probability_paths: Sequence[str | os.PathLike[str]],
    grid: np.ndarray,
) -> ValidationCounts:
    """Every candidate rule's counts on the labelled pixels of ``tiles``, from the seeds' mean probabilities."""
    if not probability_paths:
        raise ValueError("the decision rule needs at least one probability raster")
    labels = inspect_geotiff(labels_path)
    for path in probability_paths:
        check_same_grid(labels, inspect_geotiff(path))
    counts = ValidationCounts(grid)
    with ExitStack() as stack:
        truth = stack.enter_context(GeoTiffWindows(labels.path))
        seeds = [stack.enter_context(GeoTiffWindows(path)) for path in probability_paths]
        for tile in tiles:
            true = truth.read(*tile.window)[0]
            stacked = np.stack([seed.read(*tile.window).astype(np.float64) for seed in seeds])
            if stacked.shape[1] != len(CLASSES):
                raise InputError(probability_paths[0], f"has {stacked.shape[1]} bands, expected {len(CLASSES)}")
            valid = (true != LABEL_NODATA) & np.isfinite(stacked).all(axis=(0, 1)) & (stacked >= 0).all(axis=(0, 1))
            counts.update(true[valid], stacked.mean(axis=0)[:, valid])
    return counts


def choose_decision(
    labels_path: str | os.PathLike[str],
    tiles_path: str | os.PathLike[str],
    probability_paths: Sequence[str | os.PathLike[str]],
    settings: DecisionSettings,
) -> dict[str, Any]:
    """The decision record: the rule and thresholds ``settings`` pick on the validation blocks, and the evidence.

    Keys: ``decision``, ``thresholds`` (``[t1, t2]`` or ``None``), ``setting``, ``chosen_by``
    (``validation`` or ``config``), ``split``, ``criterion``, ``min_class2_recall``,
    ``constraint_met``, ``validation`` (the chosen rule's criterion, class-2 recall, class-1
    precision), ``best_per_rule``, ``n_blocks``, ``n_pixels``, ``probabilities``.
    """
    tiles = validation_tiles(tiles_path)
    counts = validation_counts(labels_path, tiles, probability_paths, settings.grid)
    if counts.n_pixels == 0:
        raise InputError(labels_path, "no labelled validation pixel: the decision rule cannot be fitted")
    picked = select(counts.confusions(), settings)
    decision: Decision = picked["decision"]
    record = {
        "decision": decision.rule,
        "thresholds": None if decision.thresholds is None else list(decision.thresholds),
        "setting": settings.rule,
        "chosen_by": "validation" if settings.rule in (AUTO, "thresholds") else "config",
        "split": CHOICE_SPLIT,
        "criterion": settings.criterion,
        "min_class2_recall": settings.min_class2_recall,
        "constraint_met": picked["constraint_met"],
        "validation": picked["scores"],
        "best_per_rule": picked["best_per_rule"],
        "n_blocks": len({tile.block for tile in tiles}),
        "n_pixels": counts.n_pixels,
        "probabilities": [str(path) for path in probability_paths],
    }
    log.info(
        "decision %s (%s): validation %s, class-2 recall floor %s met: %s",
        decision.describe(),
        record["chosen_by"],
        picked["scores"],
        settings.min_class2_recall,
        picked["constraint_met"],
    )
    return record


def write_decision(path: str | os.PathLike[str], record: dict[str, Any]) -> None:
    """Write the decision record atomically."""
    write_json(path, record)


def read_decision(path: str | os.PathLike[str]) -> Decision:
    """The :class:`Decision` of a decision record; :class:`InputError` naming the file when it holds none."""
    record = read_json_object(path, "riskseg decision JSON")
    thresholds = record.get("thresholds")
    try:
        return Decision(record.get("decision"), None if thresholds is None else tuple(thresholds))
    except (TypeError, ValueError) as error:
        raise InputError(path, str(error)) from None
