"""Forecast every test sample with a trained model or an untrained baseline, into one HDF5 file.

The forecast file holds ``forecast (N, T_out, H, W)`` float32 in the code/255 scale (the format
:func:`atmo.nowcast.scoring.score_forecasts` reads) and the cache's ``event_id``, so scoring can
check that forecasts and truth are aligned. The wall time per sample is stored as an attribute,
which is how the inference cost of a learned model is compared with the optical-flow baseline.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import h5py
import numpy as np
import torch

from atmo.io.atomic import atomic_path
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.nowcast.baselines import BASELINES
from atmo.nowcast.dataset import NowcastDataset
from atmo.nowcast.scoring import FORECAST_DATASET
from atmo.nowcast.sevir_files import VIL_ZERO_MAX_CODE

log = logging.getLogger(__name__)

#: ``(x, present, motion) -> (B, T_out, H, W)`` numpy forecast of a batch of the cache.
Predictor = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], np.ndarray]


def model_predictor(model: torch.nn.Module, device: torch.device | str = "cpu") -> Predictor:
    """Wrap a trained model: ``(x, present, motion) -> (B, T_out, H, W)`` numpy, clipped to [0, 1].

    The model is put in eval mode, so a model handed over straight from training forecasts like a loaded one.
    """
    model.eval()

    @torch.no_grad()
    def predict(x: torch.Tensor, present: torch.Tensor, motion: torch.Tensor) -> np.ndarray:
        vil = model(x.to(device), present.to(device), motion.to(device))
        return vil.clamp(0, 1).float().cpu().numpy()

    return predict


def baseline_predictor(name: str, frames_out: int) -> Predictor:
    """Wrap an untrained baseline (``persistence``, ``optical_flow``) working on the VIL history."""
    if name not in BASELINES:
        raise ValueError(f"unknown nowcast baseline {name!r}; known: {', '.join(sorted(BASELINES))}")
    baseline = BASELINES[name]

    def predict(x: torch.Tensor, present: torch.Tensor, motion: torch.Tensor) -> np.ndarray:
        return baseline(x[:, :, 0].numpy(), frames_out)

    return predict


def as_vil_product(forecast: np.ndarray) -> np.ndarray:
    """A forecast ``(..., H, W)`` in code/255 as the VIL product it stands for: 0 where it rounds to a code
    that SEVIR's encoding maps to 0 kg/m2 (<= :data:`~atmo.nowcast.sevir_files.VIL_ZERO_MAX_CODE`).

    A network that hedges where it is unsure outputs small positive values over dry ground; below code
    5.5 they are no VIL at all, yet they lay a faint floor over the event panel and the dry-pixel mean.
    Storing them as the encoding would (0) changes no CSI (the lowest threshold is VIP 16) and
    leaves every value from code 5.5 up, so a haze above the floor still shows in ``dry_mean``.
    """
    return np.where(forecast * 255.0 < VIL_ZERO_MAX_CODE + 0.5, 0.0, forecast).astype(forecast.dtype)


@contextmanager
def forecast_file(
    out_path: str | os.PathLike[str], shape: tuple[int, ...], event_id: np.ndarray, label: str
) -> Iterator[h5py.Dataset]:
    """Open the forecast file's ``forecast`` dataset ``shape`` for writing; ``event_id`` and ``label``
    are stored beside it. The file appears only when the block ends without an error (atomic write);
    the writer sets ``seconds_per_sample`` on the dataset's file attributes."""
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as out:
        forecast = out.create_dataset(FORECAST_DATASET, shape=shape, dtype="float32", chunks=(1, *shape[1:]))
        yield forecast
        out["event_id"] = event_id
        out.attrs["label"] = label


def write_forecasts(
    test_cache: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    predict: Predictor,
    *,
    batch_size: int = 8,
    label: str = "",
) -> float:
    """Run ``predict`` over the test cache and write the forecast file; returns seconds per sample.

    A forecast of the wrong shape raises ``ValueError`` and leaves no file.
    """
    dataset = NowcastDataset(test_cache)
    n, shape = len(dataset), (len(dataset), dataset.frames_out, dataset.grid_size, dataset.grid_size)
    with open_hdf5(test_cache) as cache:
        event_id = require_dataset(cache, "event_id", kinds="S", shape=(n,))[...]
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=False)
    seconds = 0.0
    with forecast_file(out_path, shape, event_id, label) as forecast:
        start = 0
        for batch in loader:
            tick = time.perf_counter()
            values = predict(batch["x"], batch["present"], batch["motion"])
            seconds += time.perf_counter() - tick
            if values.shape != (len(batch["x"]), *shape[1:]):
                expected = ", ".join(str(size) for size in shape[1:])
                raise ValueError(f"{label or 'predictor'}: forecast shape {values.shape}, expected (B, {expected})")
            forecast[start : start + len(values)] = as_vil_product(values)
            start += len(values)
        forecast.file.attrs["seconds_per_sample"] = seconds / max(n, 1)
    log.info("%s: %d forecasts, %.4f s per sample", label, n, seconds / max(n, 1))
    return seconds / max(n, 1)
