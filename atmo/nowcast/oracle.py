"""The oracle forecast of the synthetic SEVIR set: what its generator knows, on the cache's grid.

For each test sample the generator re-renders its event with every storm cell that exists at the
sample's last input frame evolving exactly as it did (true motion, growth, decay, merges and splits),
but without any cell that initiates later (:func:`atmo.nowcast.synthetic.sevir.oracle_vil`). Its lead times go
through the same decoding and resampling as the cache's truth, so an oracle with no initiation to
miss scores CSI 1. It is the ceiling of what a model can reach from the inputs without predicting new
cells: a model far below it fails on motion and evolution, one near it can gain only by initiation.
"""

from __future__ import annotations

import logging
import os
import time

import numpy as np

from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.nowcast.cache import resample
from atmo.nowcast.forecast import forecast_file
from atmo.nowcast.products import ORACLE
from atmo.nowcast.sevir_files import VIL_MISSING
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, oracle_vil, plan_events

log = logging.getLogger(__name__)


def write_oracle_forecasts(
    test_cache: str | os.PathLike[str], cfg: SyntheticSevirConfig, out_path: str | os.PathLike[str]
) -> None:
    """The oracle's forecast file for every sample of ``test_cache`` (built from the synthetic set ``cfg``)."""
    with open_hdf5(test_cache) as cache:
        n = len(require_dataset(cache, "y", kinds="f", ndim=4))
        event_ids = require_dataset(cache, "event_id", kinds="S", shape=(n,))[...]
        starts = require_dataset(cache, "t0", kinds="iu", shape=(n,))[...]
        frames_in, frames_out = int(cache.attrs["frames_in"]), int(cache.attrs["frames_out"])
        grid = int(cache.attrs["grid_size"])
    plans = {plan.id: plan for plan in plan_events(cfg)}
    unknown = sorted({event.decode() for event in event_ids} - set(plans))
    if unknown:
        raise InputError(test_cache, f"events not in the synthetic set of this config, e.g. {unknown[0]}")
    tick = time.perf_counter()
    with forecast_file(out_path, (n, frames_out, grid, grid), event_ids, ORACLE) as forecast:
        for k, (event, start) in enumerate(zip(event_ids, starts, strict=True)):
            first = int(start) + frames_in
            codes = oracle_vil(plans[event.decode()], cfg, last_input_frame=first - 1)
            future = codes[..., first : first + frames_out]
            forecast[k] = resample(np.where(future == VIL_MISSING, 0, future), grid) / 255.0
        forecast.file.attrs["seconds_per_sample"] = (time.perf_counter() - tick) / max(n, 1)
    log.info("oracle: %d forecasts of %d events", n, len(set(event_ids)))
