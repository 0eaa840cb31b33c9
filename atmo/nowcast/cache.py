"""Build the nowcast training cache: SEVIR events -> aligned, normalised input/target samples.

Reading SEVIR per training step would decode GB-sized files hundreds of times, so each split is
extracted once into a chunked HDF5 file (one chunk per sample) that a DataLoader reads with
``num_workers > 0``. Per event this

1. decodes every modality and resamples it to one ``grid_size x grid_size`` grid over the event's
   patch (area mean when shrinking, bilinear when enlarging; lightning: see 2), so VIL (1 km),
   IR (2 km) and lightning (8 km) line up pixel for pixel;
2. rasterises lightning flashes to counts per *native* lightning cell (the lightning row's
   ``size_x x size_y``, 8 km for real SEVIR) and 5-minute frame, frame ``k`` counting the flashes of
   the 5 minutes *before* its time (causal: an input frame never sees later flashes), and only then
   brings them to the grid (:func:`lightning_channel`), so the channel stays in the unit the
   benchmark's lightning constants are for: flashes per 8 km cell and frame;
3. normalises: VIL as code/255 (so benchmark threshold ``t`` is ``t/255`` in both ``x`` and ``y``),
   IR and lightning as ``(value - offset) / scale`` with the benchmark's constants (config);
4. cuts samples ``[t0, t0 + frames_in) -> [t0 + frames_in, t0 + frames_in + frames_out)`` with
   ``t0 = 0, stride, 2 stride, ...`` (SEVIR benchmark: 13 -> 12 with stride 12 gives its three
   samples per event);
5. estimates each sample's motion from its last input frames with the optical-flow baseline's
   Lucas-Kanade method (the SGT's motion prior; once per sample here, not once per epoch), stored as
   float16: displacements of a few pixels per step keep ~1e-3 px (relative 2**-11), and float32
   would double a field of 1.2 MB per sample at 384 x 384, tens of GB over SEVIR. :func:`lk_motion`
   rounds to float16 itself, so the stored prior is exactly the baseline's motion; readers get
   float32 (:class:`atmo.nowcast.dataset.NowcastDataset`).

A modality an event lacks in the catalog is a zero channel with ``present = False`` (and a log
line), never silent zeros. Layout: see the contract in the project notes, ``write_cache``.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from atmo.errors import InputError
from atmo.io.atomic import atomic_path
from atmo.nowcast.baselines import lk_motion
from atmo.nowcast.sevir_files import (
    FRAME_MINUTES,
    FRAME_OFFSETS_MIN,
    MODALITIES,
    N_FRAMES,
    VIL_MISSING,
    SevirReader,
    check_data_files,
    rows_by_event,
)
from atmo.settings import Check, settings_block

log = logging.getLogger(__name__)

#: The ``nowcast.cache.normalisation`` block: ``(value - offset) / scale`` per channel, the SEVIR
#: benchmark's constants by default. IR in stored units (degC x 100), lightning in flashes per native
#: lightning cell (8 km) and 5-min frame, whatever the cache's grid; VIL is always code/255 and has no entry.
Normalisation = settings_block("nowcast", "cache.normalisation")


class CacheConfig(settings_block("nowcast", "cache")):
    """The ``nowcast.cache`` config block (built by :func:`atmo.settings.build_block`)."""

    def cross_checks(self) -> list[Check]:
        most = N_FRAMES - self.frames_in
        return [("frames_out", self.frames_out <= most, f"expected <= {most} (frames_in + frames_out <= {N_FRAMES})")]


def sample_starts(frames_in: int, frames_out: int, stride: int) -> list[int]:
    """First input frame of each sample cut from a 49-frame event."""
    return list(range(0, N_FRAMES - frames_in - frames_out + 1, stride))


def resample(field_hwt: np.ndarray, grid_size: int, *, enlarge: str = "bilinear") -> np.ndarray:
    """``(H, W, T)`` -> ``(T, grid, grid)`` float32: area mean when shrinking, ``enlarge`` otherwise.

    ``enlarge`` is a ``torch.nn.functional.interpolate`` mode: ``bilinear`` for the continuous
    rasters; ``area`` gives each grid pixel the mean of the cells it overlaps (for an integer
    factor: its cell's value), the mode for per-cell counts.
    """
    frames = torch.from_numpy(np.ascontiguousarray(np.moveaxis(field_hwt, -1, 0), dtype=np.float32))[:, None]
    if frames.shape[-1] == grid_size and frames.shape[-2] == grid_size:
        return frames[:, 0].numpy()
    shrink = frames.shape[-1] > grid_size
    mode = "area" if shrink else enlarge
    corners = {"align_corners": False} if mode == "bilinear" else {}
    return F.interpolate(frames, size=(grid_size, grid_size), mode=mode, **corners)[:, 0].numpy()


def rasterise_flashes(flashes: np.ndarray, size_x: int, size_y: int) -> np.ndarray:
    """Flashes ``(n, 5)`` [t_s, lat, lon, x, y] -> counts ``(size_y, size_x, 49)`` float32 per native cell.

    ``x, y`` are in the lightning row's pixels (column, row; ``size_x x size_y`` of them, 8 km each
    for real SEVIR), so a flash is counted in the cell it fell in, on the grid the benchmark's
    lightning normalisation is for, whatever the cache's grid. Frame ``k`` at time ``T_k`` counts
    flashes with ``T_k - 5 min < t <= T_k``, so an input frame never holds a later flash; flashes
    outside the patch or the event window are dropped.
    """
    counts = np.zeros((size_y, size_x, N_FRAMES), dtype=np.float32)
    if len(flashes) == 0:
        return counts
    frame_s = FRAME_MINUTES * 60.0
    frame = np.ceil((flashes[:, 0] - FRAME_OFFSETS_MIN[0] * 60.0) / frame_s).astype(np.int64)
    col = np.floor(flashes[:, 3]).astype(np.int64)
    row = np.floor(flashes[:, 4]).astype(np.int64)
    inside = (frame >= 0) & (frame < N_FRAMES) & (col >= 0) & (col < size_x) & (row >= 0) & (row < size_y)
    np.add.at(counts, (row[inside], col[inside], frame[inside]), 1.0)
    return counts


def lightning_channel(flashes: np.ndarray, row: pd.Series, grid_size: int) -> np.ndarray:
    """Flashes of one event -> ``(49, grid, grid)`` flashes per native cell and frame, on the cache grid.

    Counted per native cell first (:func:`rasterise_flashes`), then resampled: the area mean when the
    grid is coarser, each grid pixel its cell's count when finer. Either way a value is still
    "flashes per 8 km cell per 5-min frame", the unit of the benchmark's lightning constants
    (counting straight onto a 1 km grid would give counts 64 times smaller than they assume).
    """
    counts = rasterise_flashes(flashes, int(row["size_x"]), int(row["size_y"]))
    return resample(counts, grid_size, enlarge="area")


def event_channels(reader: SevirReader, rows: dict[str, pd.Series], cfg: CacheConfig) -> tuple[np.ndarray, np.ndarray]:
    """All 49 frames of one event: ``(49, 4, grid, grid)`` float32 normalised, and ``present (4,)``."""
    grid = cfg.grid_size
    out = np.zeros((N_FRAMES, len(MODALITIES), grid, grid), dtype=np.float32)
    present = np.array([m in rows for m in MODALITIES])
    for channel, img_type in enumerate(MODALITIES):
        if img_type not in rows:
            continue
        row = rows[img_type]
        raw = reader.raw(row)
        if img_type == "vil":
            missing = raw == VIL_MISSING
            if missing.any():
                log.warning("%s: %.2f%% VIL pixels missing, set to 0", row["id"], 100 * missing.mean())
            out[:, channel] = resample(np.where(missing, 0, raw), grid) / 255.0
            continue
        value = lightning_channel(raw, row, grid) if img_type == "lght" else resample(raw, grid)
        norm = getattr(cfg.normalisation, img_type)
        out[:, channel] = (value - norm.offset) / norm.scale
    return out, present


def _patch_km(catalog: pd.DataFrame, where: Path) -> float:
    """Side of the events' patch in km; every event of one cache must share it (one grid)."""
    widths = catalog.loc[catalog["img_type"] == "vil", "width_m"].unique()
    if len(widths) != 1:
        raise InputError(where, f"events have different patch widths {sorted(widths)} m; one cache needs one grid")
    return float(widths[0]) / 1000.0


def build_cache(
    catalog: pd.DataFrame,
    event_ids: list[str],
    data_dir: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    cfg: CacheConfig,
    quarantine_dir: str | os.PathLike[str] | None = None,
) -> dict:
    """Write the cache of ``event_ids`` (in that order) to ``out_path``; return a summary dict.

    All data files are checked against the catalog first, so bad input fails before any decoding
    and leaves no output; a damaged one is moved to ``quarantine_dir`` (when given) so that the next
    run fetches it again.
    """
    rows = catalog[catalog["id"].isin(set(event_ids)) & catalog["img_type"].isin(MODALITIES)]
    unknown = sorted(set(event_ids) - set(rows.loc[rows["img_type"] == "vil", "id"]))
    if unknown:
        raise InputError(Path(data_dir), f"{len(unknown)} event(s) without a VIL row in the catalog, e.g. {unknown[0]}")
    check_data_files(rows, data_dir, quarantine_dir)
    patch_km = _patch_km(rows, Path(data_dir))
    starts = sample_starts(cfg.frames_in, cfg.frames_out, cfg.stride)
    n_samples, grid, t_in, t_out = len(event_ids) * len(starts), cfg.grid_size, cfg.frames_in, cfg.frames_out
    missing = Counter()
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w") as handle, SevirReader(data_dir) as reader:
        compression = cfg.compression if cfg.compression != "none" else None
        x_shape = (t_in, len(MODALITIES), grid, grid)
        x = handle.create_dataset("x", (n_samples, *x_shape), np.float16, chunks=(1, *x_shape), compression=compression)
        y = handle.create_dataset(
            "y", (n_samples, t_out, grid, grid), np.float16, chunks=(1, t_out, grid, grid), compression=compression
        )
        motion = handle.create_dataset(
            "motion", (n_samples, 2, grid, grid), np.float16, chunks=(1, 2, grid, grid), compression=compression
        )
        present = np.zeros((n_samples, len(MODALITIES)), dtype=bool)
        ids = np.zeros(n_samples, dtype=f"S{max((len(i) for i in event_ids), default=1)}")
        t0 = np.zeros(n_samples, dtype=np.int16)
        k = 0
        for event_id, event_rows in rows_by_event(rows, event_ids):
            frames, flags = event_channels(reader, event_rows, cfg)
            for name in (m for m, p in zip(MODALITIES, flags, strict=True) if not p):
                missing[name] += 1
                log.warning("%s has no %s in the catalog: channel set to 0, present=False", event_id, name)
            for start in starts:
                x[k] = frames[start : start + t_in]
                # From the VIL as stored (float16), so the prior is exactly the optical-flow baseline's motion.
                motion[k] = lk_motion(frames[start : start + t_in, 0].astype(np.float16))
                y[k] = frames[start + t_in : start + t_in + t_out, 0]
                present[k], ids[k], t0[k] = flags, event_id.encode("ascii"), start
                k += 1
        handle.create_dataset("present", data=present)
        handle.create_dataset("event_id", data=ids)
        handle.create_dataset("t0", data=t0)
        handle.attrs.update(
            frames_in=t_in,
            frames_out=t_out,
            grid_size=grid,
            km_per_pixel=patch_km / grid,
            modalities=list(MODALITIES),
            normalisation=json.dumps(
                {"vil": {"offset": 0.0, "scale": 255.0}, **asdict(cfg.normalisation)}, sort_keys=True
            ),
        )
    summary = {
        "events": len(event_ids),
        "samples": n_samples,
        "missing_modalities": dict(missing),
        "config": asdict(cfg),
    }
    log.info("wrote %s: %s", out_path, summary)
    return summary
