"""The reviewer's baselines: pixel classifiers on the covariates, fitted on the training tiles only.

Two classifiers, each on two feature sets (:mod:`atmo.riskseg.features`):

* ``logistic``: multinomial logistic regression on standardised features; the inverse
  regularisation strength ``C`` is the one of ``c_grid`` with the lowest log loss on the
  validation tiles;
* ``hgb``: scikit-learn's histogram gradient boosting; boosting stops once the log loss on the
  validation tiles has not improved for ``n_iter_no_change`` rounds (validation as given, not a
  random slice of the training pixels, which would sit next to them);
* ``radii_px`` empty: per-pixel (each pixel's own covariates); radii given: the covariates plus
  their Gaussian means and gradient magnitudes at those radii, the cheap spatial baseline.

Labels come from the ``train`` group of the tiles file (the fit) and its ``val`` group (the
choice above); nothing of the ``test`` group and no label raster is read, so test labels cannot
reach a baseline. At most ``max_train_pixels`` labelled pixels of each split are used, drawn
uniformly with the run's seed (neighbouring pixels are nearly copies of each other, so more add
time, not information). The fitted classifier predicts calibrated class probabilities for every
valid pixel of the scene, written like a model's probability raster
(:mod:`atmo.riskseg.probability_raster`); classes come later, from the decision rule that every
probability product goes through (:mod:`atmo.riskseg.choice`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import sklearn
from sklearn.base import ClassifierMixin
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from atmo.errors import InputError
from atmo.io.atomic import write_json
from atmo.io.geotiff import GeoTiffWindows, inspect_geotiff
from atmo.io.hdf5 import open_hdf5
from atmo.riskseg import CLASSES, LABEL_NODATA
from atmo.riskseg.evaluate import split_tiles
from atmo.riskseg.features import feature_names, window_features
from atmo.riskseg.probability_raster import write_probabilities
from atmo.settings import settings_block

log = logging.getLogger(__name__)

#: Rows of the scene predicted at once (memory: features of one strip plus its margin).
STRIP_ROWS = 256


class BaselineSettings(settings_block("riskseg", "baselines.*")):
    """One entry of ``riskseg.baselines``: classifier, features, and what validation may tune."""


def split_labels(tiles_path: str | os.PathLike[str], split: str, shape: tuple[int, int]) -> np.ndarray:
    """``(H, W)`` uint8: the labels of ``split``'s tiles in place, :data:`LABEL_NODATA` everywhere else."""
    raster = np.full(shape, LABEL_NODATA, dtype=np.uint8)
    with open_hdf5(tiles_path) as handle:
        labels = handle[split]["label"][:]
    for tile, label in zip(split_tiles(tiles_path, split), labels, strict=True):
        raster[tile.row : tile.row + tile.size, tile.col : tile.col + tile.size] = label
    return raster


def strips(height: int) -> list[tuple[int, int]]:
    """``(first row, rows)`` of the :data:`STRIP_ROWS`-row strips that cover a scene of ``height`` rows."""
    return [(row, min(STRIP_ROWS, height - row)) for row in range(0, height, STRIP_ROWS)]


def sample_pixels(
    reader: GeoTiffWindows,
    labels: Mapping[str, np.ndarray],
    mean: np.ndarray,
    std: np.ndarray,
    settings: BaselineSettings,
    rng: np.random.Generator,
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per split, features ``(N, F)`` and labels ``(N,)`` of at most ``max_train_pixels`` of its labelled pixels.

    ``labels`` are the splits' label rasters (:func:`split_labels`); every pixel is kept with the same
    probability, and the scene's features are computed once, strip by strip, for all splits together.
    """
    shape = next(iter(labels.values())).shape
    keep = {split: settings.max_train_pixels / max(int(np.sum(r != LABEL_NODATA)), 1) for split, r in labels.items()}
    found: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {split: ([], []) for split in labels}
    for row, rows in strips(shape[0]):
        parts = {split: raster[row : row + rows] for split, raster in labels.items()}
        if all((part == LABEL_NODATA).all() for part in parts.values()):
            continue
        features, valid = window_features(reader, shape, (row, 0, rows, shape[1]), mean, std, settings.radii_px)
        for split, part in parts.items():
            chosen = valid & (part != LABEL_NODATA) & (rng.random(part.shape) < keep[split])
            found[split][0].append(features[:, chosen].T)
            found[split][1].append(part[chosen].astype(np.int64))
    return {split: (np.concatenate(x), np.concatenate(y)) for split, (x, y) in found.items()}


def fit_classifier(
    train: tuple[np.ndarray, np.ndarray], val: tuple[np.ndarray, np.ndarray], settings: BaselineSettings, seed: int
) -> tuple[ClassifierMixin, dict[str, Any]]:
    """The classifier fitted on ``train``, tuned on ``val`` (see the module docstring), and what was chosen."""
    if settings.method == "logistic":
        losses, fitted = {}, {}
        for c in settings.c_grid:
            model = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=1000))
            fitted[c] = model.fit(*train)
            losses[c] = validation_loss(model, val)
        best = min(losses, key=losses.get)
        return fitted[best], {"C": best, "validation_log_loss": {f"{c:g}": v for c, v in losses.items()}}
    model = HistGradientBoostingClassifier(
        max_iter=settings.max_iter,
        learning_rate=settings.learning_rate,
        max_leaf_nodes=settings.max_leaf_nodes,
        early_stopping=True,
        scoring="loss",
        n_iter_no_change=settings.n_iter_no_change,
        random_state=seed,
    )
    model.fit(*train, X_val=val[0], y_val=val[1])
    return model, {"n_iter": int(model.n_iter_), "validation_log_loss": validation_loss(model, val)}


def validation_loss(model: ClassifierMixin, val: tuple[np.ndarray, np.ndarray]) -> float:
    """Mean log loss of ``model``'s probabilities on the validation pixels."""
    return float(log_loss(val[1], model.predict_proba(val[0]), labels=model.classes_))


def class_probabilities(model: ClassifierMixin, features: np.ndarray) -> np.ndarray:
    """``(N, 3)`` probabilities of classes 0, 1, 2 (0 for a class the training pixels lacked)."""
    probabilities = np.zeros((len(features), len(CLASSES)), dtype=np.float32)
    probabilities[:, model.classes_] = model.predict_proba(features)
    return probabilities


def predict_scene(
    model: ClassifierMixin,
    reader: GeoTiffWindows,
    shape: tuple[int, int],
    mean: np.ndarray,
    std: np.ndarray,
    radii_px: tuple[float, ...],
) -> np.ndarray:
    """``(3, H, W)`` float32 class probabilities of every valid pixel, NaN elsewhere, strip by strip."""
    out = np.full((len(CLASSES), *shape), np.nan, dtype=np.float32)
    for row, rows in strips(shape[0]):
        features, valid = window_features(reader, shape, (row, 0, rows, shape[1]), mean, std, radii_px)
        strip = out[:, row : row + rows]
        strip[:, valid] = class_probabilities(model, features[:, valid].T).T
    return out


def write_baseline(
    scene_path: str | os.PathLike[str],
    tiles_path: str | os.PathLike[str],
    settings: BaselineSettings,
    seed: int,
    probabilities_path: str | os.PathLike[str],
    record_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Fit one baseline, write its probability raster and a JSON record (choice, pixel counts, seconds).

    ``fit_seconds`` covers the whole fit on the training pixels including the validation choice
    (every ``C`` of the grid, or every boosting round); ``predict_seconds`` the whole scene.
    """
    scene = inspect_geotiff(scene_path)
    with open_hdf5(tiles_path) as handle:
        mean, std = handle.attrs["mean"], handle.attrs["std"]
    if len(mean) != scene.count:
        raise InputError(scene.path, f"has {scene.count} bands, the tiles file {tiles_path} {len(mean)}")
    labels = {split: split_labels(tiles_path, split, scene.shape) for split in ("train", "val")}
    with GeoTiffWindows(scene.path) as reader:
        sampled = sample_pixels(reader, labels, mean, std, settings, np.random.default_rng(seed))
        train, val = sampled["train"], sampled["val"]
        started = time.perf_counter()
        model, chosen = fit_classifier(train, val, settings, seed)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        probabilities = predict_scene(model, reader, scene.shape, mean, std, settings.radii_px)
        predict_seconds = time.perf_counter() - started
    write_probabilities(probabilities_path, probabilities, scene, {"baseline": settings.method})
    record = {
        "method": settings.method,
        "radii_px": list(settings.radii_px),
        "features": feature_names(scene.band_names, settings.radii_px),
        "n_train_pixels": len(train[1]),
        "n_val_pixels": len(val[1]),
        "train_class_counts": np.bincount(train[1], minlength=len(CLASSES)).tolist(),
        **chosen,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "sklearn": sklearn.__version__,
    }
    write_json(record_path, record)
    log.info("%s on %d features: %s, fit %.1f s", settings.method, len(record["features"]), chosen, fit_seconds)
    return record
