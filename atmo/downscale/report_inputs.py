"""Reading and checking what the downscale report is built from: score files, training records, ensemble files.

Every check names the file and says what is wrong with it, before the report writes anything: a file
wired to the wrong product (its variant, epoch or mode differ from its name), products scored on
other test cases, ensembles of another size. The names are parsed by :mod:`atmo.downscale.products`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from atmo.downscale.products import Product
from atmo.downscale.sample_files import read_header
from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5
from atmo.io.metrics_json import read_json_object

PathLike = str | os.PathLike[str]

_SCORE_KEYS = ("method", "variant", "epoch", "mode", "k", "n_cases", "crps_mm", "truth_max_mm", "truth_mean_mm")
_METRICS_KEYS = ("latent_active_units_kl", "latent_active_units_burda")


def read_scores(path: PathLike) -> dict[str, Any]:
    """One product's score JSON; :class:`InputError` if it is not one of :func:`score_samples`'s."""
    return read_json_object(path, "downscale score file", required=_SCORE_KEYS)


def read_metrics(path: PathLike) -> dict[str, Any]:
    """A variant's training ``metrics.json``; :class:`InputError` without the latent activity keys."""
    return read_json_object(path, "downscale training metrics file", required=_METRICS_KEYS)


def read_history(path: PathLike) -> pd.DataFrame:
    """A variant's ``history.csv`` (one row per epoch); :class:`InputError` without ``epoch, val_kl``."""
    try:
        history = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(path, f"not a readable history CSV ({error})") from error
    missing = [key for key in ("epoch", "val_kl") if key not in history.columns]
    if missing:
        raise InputError(path, f"not a training history: column(s) {missing} missing")
    return history


def _matches(key: str, held: Any, named: Any) -> bool:
    """Whether a file's ``key`` fits its product name; an earlier ``epoch`` does: early stopping ended
    that run before the named epoch, and its sampling job read the last one trained
    (:func:`atmo.downscale.sampling.sampled_checkpoint`)."""
    return held <= named if key == "epoch" and named is not None else held == named


def check_product(product: Product, scores: Mapping[str, Any], where: PathLike) -> None:
    """The name must say what the file is: a wired-up wrong file would otherwise fill the wrong row."""
    expected: dict[str, Any] = {"mode": product.mode}
    if product.variant is not None:
        expected.update(variant=product.variant, epoch=product.epoch)
    wrong = {key: scores[key] for key, value in expected.items() if not _matches(key, scores[key], value)}
    if wrong:
        raise InputError(where, f"holds {wrong}, but is passed as product {product.name!r}")


def check_same_truth(products: Mapping[str, Mapping[str, Any]], paths: Mapping[str, PathLike]) -> None:
    """Rows compare only if every product was scored on the same test days (same truth statistics)."""
    first, reference = next(iter(products.items()))
    for name, scores in products.items():
        if scores["n_cases"] != reference["n_cases"] or not all(
            math.isclose(scores[key], reference[key], rel_tol=1e-6, abs_tol=1e-9)
            for key in ("truth_max_mm", "truth_mean_mm")
        ):
            raise InputError(
                paths[name],
                f"was scored on other test cases than {first!r} (n_cases {scores['n_cases']} vs "
                f"{reference['n_cases']}, truth max {scores['truth_max_mm']} vs {reference['truth_max_mm']} mm)",
            )


def check_same_k(products: Mapping[str, Mapping[str, Any]], paths: Mapping[str, PathLike]) -> None:
    """Every ensemble (not deterministic) has the same K: CRPS, rank histograms and spread depend on K."""
    sizes = {name: scores["k"] for name, scores in products.items() if not scores.get("deterministic")}
    if len(set(sizes.values())) > 1:
        first = next(iter(sizes))
        odd = next(name for name, k in sizes.items() if k != sizes[first])
        raise InputError(
            paths[odd], f"has K = {sizes[odd]} members, {first!r} has {sizes[first]}: every ensemble needs the same K"
        )


def checked_samples(product: Product, path: PathLike) -> np.ndarray:
    """Check an ensemble file is the product its name says; return its ``index (N,)`` (the test cases)."""
    attrs = read_header(path).attrs
    expected = {"mode": product.mode, "variant": product.variant, "epoch": product.epoch}
    wrong = {key: attrs[key] for key, value in expected.items() if not _matches(key, attrs[key], value)}
    if wrong:
        raise InputError(path, f"holds {wrong}, but is passed as the samples of {product.name!r}")
    with open_hdf5(path) as handle:
        return handle["index"][()]


def read_case(path: PathLike, case: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The first member ``(H, W)``, the coarse input ``(h, w)`` and the time (s) of test case ``case``."""
    with open_hdf5(path) as handle:
        return handle["samples"][case, 0], handle["coarse"][case], int(handle["time"][case])
