"""The oracle row of the synthetic campaign: the generator's own cloud base, without the lidar's noise.

The synthetic generator knows the true nadir cloud base of every frame and writes it to each flight
file as ``noiseless_cbh_km`` (N,) float, next to the noisy lidar label ``cbh_km``. Predicting it is
what a perfect model of the scene would do, so its scores are what the labels' own noise leaves:
the ceiling of every approach. It is shown last in the tables and never compared or ranked
(:mod:`atmo.publish.comparisons`); campaign data have no such dataset, and no oracle row.

:func:`write_oracle` writes one fold's oracle predictions for the test flight's labelled samples,
in the format of :mod:`atmo.cbh.predictions`, so it is scored like every approach.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from atmo.cbh.flight_files import NOISELESS_CBH, read_noiseless_cbh
from atmo.cbh.lofo import fold_split
from atmo.cbh.predictions import write_predictions
from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5, require_dataset


def read_sample_index(cache: str | os.PathLike[str]) -> np.ndarray:
    """(N,) int64: each cache sample's index within its flight file (the cache's ``sample_index``)."""
    with open_hdf5(cache) as handle:
        n = require_dataset(handle, "cbh_km", kinds="f", ndim=1).shape[0]
        return require_dataset(handle, "sample_index", kinds="iu", shape=(n,))[...].astype(np.int64)


def write_oracle(
    cache: str | os.PathLike[str],
    folds_path: str | os.PathLike[str],
    fold_id: int,
    validation: Mapping[str, Any],
    flight_path: str | os.PathLike[str],
    output: str | os.PathLike[str],
) -> None:
    """Fold ``fold_id``'s oracle: the noiseless cloud base of its test samples, read from the test flight's file."""
    table, fold, split = fold_split(cache, folds_path, fold_id, validation)
    test = split["test"]
    member = np.flatnonzero(table.flight_index == fold_id)
    noiseless = read_noiseless_cbh(flight_path, expected_name=fold.test_flight)
    if len(noiseless) != len(member):
        raise InputError(flight_path, f"has {len(noiseless)} frames, the cache has {len(member)} of {fold.test_flight}")
    in_flight = read_sample_index(cache)[test]
    pred_km = noiseless[in_flight]
    bad = np.flatnonzero(~np.isfinite(pred_km))
    if len(bad):
        raise InputError(flight_path, f"'{NOISELESS_CBH}' is not finite at labelled sample {in_flight[bad[0]]}")
    write_predictions(
        output, sample=test, flight=fold.test_flight, fold_id=fold_id, cbh_km=table.cbh_km[test], pred_km=pred_km
    )
