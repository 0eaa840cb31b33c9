"""SEVIR on disk: catalog, data-file naming, checked reading and decoding to physical units.

SEVIR (Veillette et al. 2020) ships a ``CATALOG.csv`` with one row per (event, modality) and
per-modality HDF5 files under ``data/<type>/<year>/``. Raster files hold a root ``id`` dataset
(fixed-length ASCII) and one array ``(N, H, W, 49)`` named after the modality; the catalog row's
``file_index`` is the event's position in that array. Lightning files hold one ``(n_flashes, 5)``
dataset per event id with columns ``[t_s, lat, lon, x, y]`` (``x, y`` in the lightning row's pixel
grid, 8 km for the real data). Everything here follows /work/shared/notes/sevir-format.md.

The real files are large (1-6 GB) and shared between users, so every mismatch between catalog and
files (wrong index, wrong id, wrong shape or dtype) must be an :class:`InputError` naming the file
found by :func:`check_data_files` *before* any compute, not a silent misread deep in a cache job.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from atmo.errors import InputError
from atmo.io.atomic import atomic_path, write_text
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.settings import settings_block

log = logging.getLogger(__name__)

#: Fields a catalog row needs to be used, checked on the rows a step uses (:func:`complete_rows`);
#: episode and event ids, event type and the corner coordinates are empty for SEVIR's random events.
REQUIRED_FIELDS = ("id", "file_name", "file_index", "img_type", "time_utc", "minute_offsets", "size_x", "size_y")

CATALOG_COLUMNS = (
    "id",
    "file_name",
    "file_index",
    "img_type",
    "time_utc",
    "minute_offsets",
    "episode_id",
    "event_id",
    "event_type",
    "llcrnrlat",
    "llcrnrlon",
    "urcrnrlat",
    "urcrnrlon",
    "proj",
    "size_x",
    "size_y",
    "height_m",
    "width_m",
    "data_min",
    "data_max",
    "pct_missing",
)
SEVIR_PROJ = "+proj=laea +lat_0=38 +lon_0=-98 +units=m +a=6370997.0 +ellps=sphere"
N_FRAMES = 49
FRAME_MINUTES = 5
FRAME_OFFSETS_MIN = tuple(range(-120, 121, FRAME_MINUTES))
MINUTE_OFFSETS = ":".join(str(m) for m in FRAME_OFFSETS_MIN)
# The modality channels of the nowcast cache, in contract order.
MODALITIES = ("vil", "ir069", "ir107", "lght")
RASTER_DTYPES = {"vil": np.dtype(np.uint8), "ir069": np.dtype(np.int16), "ir107": np.dtype(np.int16)}
# Pixel size of each modality relative to VIL's 1 km (IR at 2 km, lightning grid at 8 km).
PIXEL_KM = {"vil": 1, "ir069": 2, "ir107": 2, "lght": 8}
VIL_MISSING = 255
IR_SCALE_DEGC = 1e-2
# SEVIR's standard file periods: storm-event rasters by half year, random events by third of a
# year, lightning by month (all events).
_STORM_PERIODS = ((1, 6), (7, 12))
_RANDOM_PERIODS = ((1, 4), (5, 8), (9, 12))
_MONTH_END = {1: 31, 2: 28, 3: 31, 4: 30, 5: 31, 6: 30, 7: 31, 8: 31, 9: 30, 10: 31, 11: 30, 12: 31}


# --------------------------------------------------------------------------------------------
# decoding


#: The largest VIL code that decodes to 0 kg/m2: SEVIR's encoding has no VIL below code 6.
VIL_ZERO_MAX_CODE = 5


def decode_vil(code: np.ndarray) -> np.ndarray:
    """VIL byte code 0..254 -> kg/m2 (float32); 255 (missing) -> NaN.

    Piecewise: 0 for X <= 5, (X - 2) / 90.66 for 5 < X <= 18, exp((X - 83.9) / 38.9) above.
    """
    x = np.asarray(code).astype(np.float32)
    kg_m2 = np.where(x <= 18, (x - 2.0) / 90.66, np.exp((x - 83.9) / 38.9)).astype(np.float32)
    kg_m2[x <= VIL_ZERO_MAX_CODE] = 0.0
    kg_m2[x >= VIL_MISSING] = np.nan
    return kg_m2


def encode_vil(kg_m2: np.ndarray) -> np.ndarray:
    """kg/m2 -> VIL byte code 0..254, the inverse of :func:`decode_vil` up to rounding."""
    v = np.maximum(np.asarray(kg_m2, dtype=np.float64), 0.0)
    log_branch = 83.9 + 38.9 * np.log(np.maximum(v, 1e-12))
    linear_branch = 2.0 + 90.66 * v
    code = np.where(log_branch > 18.5, log_branch, linear_branch)
    code = np.rint(np.clip(code, 0, 254))
    code[code <= VIL_ZERO_MAX_CODE] = 0
    return code.astype(np.uint8)


def decode_ir(raw: np.ndarray) -> np.ndarray:
    """IR brightness temperature int16 (degC x 100) -> degC (float32)."""
    return np.asarray(raw).astype(np.float32) * np.float32(IR_SCALE_DEGC)


def encode_ir(degc: np.ndarray) -> np.ndarray:
    """degC -> int16 degC x 100, as stored in SEVIR's ir069/ir107 files."""
    return np.rint(np.clip(np.asarray(degc) / IR_SCALE_DEGC, -32768, 32767)).astype(np.int16)


def decode(img_type: str, raw: np.ndarray) -> np.ndarray:
    """Raw raster values of ``img_type`` -> physical units (VIL kg/m2, IR degC)."""
    return decode_vil(raw) if img_type == "vil" else decode_ir(raw)


# --------------------------------------------------------------------------------------------
# file naming


def _mmdd(month: int, day: int) -> str:
    return f"{month:02d}{day:02d}"


def data_file_name(img_type: str, storm: bool, when: datetime | date) -> str:
    """SEVIR's file (relative to ``data/``) holding an event of ``img_type`` at time ``when``.

    e.g. ``vil/2019/SEVIR_VIL_STORMEVENTS_2019_0101_0630.h5`` or, for lightning (monthly, all
    events), ``lght/2019/SEVIR_LGHT_ALLEVENTS_2019_0601_0701.h5``.
    """
    year, month = when.year, when.month
    if img_type == "lght":
        kind, first, last = "ALLEVENTS", _mmdd(month, 1), _mmdd(month % 12 + 1, 1)
    else:
        periods = _STORM_PERIODS if storm else _RANDOM_PERIODS
        start, end = next(p for p in periods if p[0] <= month <= p[1])
        kind = "STORMEVENTS" if storm else "RANDOMEVENTS"
        first, last = _mmdd(start, 1), _mmdd(end, _MONTH_END[end])
    return f"{img_type}/{year}/SEVIR_{img_type.upper()}_{kind}_{year}_{first}_{last}.h5"


# --------------------------------------------------------------------------------------------
# catalog


def read_catalog(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read ``CATALOG.csv``, checking that it has SEVIR's columns; ``time_utc`` becomes a timestamp.

    Row-level irregularities of the real catalog (a row without ``minute_offsets`` or ``size_x``,
    other frame offsets, a modality listed twice) are not errors here: the real catalog has such
    rows, some of image types never selected, so :func:`select_events` drops the selected ones and
    says how many and why.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "catalog file does not exist")
    try:
        catalog = pd.read_csv(path, low_memory=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise InputError(path, f"not a readable CSV catalog ({err})") from err
    missing = [c for c in CATALOG_COLUMNS if c not in catalog.columns]
    if missing:
        raise InputError(path, f"catalog lacks column(s) {missing}")
    _check_not_truncated(path, catalog)
    try:
        catalog["time_utc"] = pd.to_datetime(catalog["time_utc"], format="ISO8601")
    except (ValueError, TypeError) as err:
        raise InputError(path, f"column time_utc is not a date-time ({err})") from err
    return catalog


def _check_not_truncated(path: Path, catalog: pd.DataFrame) -> None:
    """Refuse a catalog cut mid-row (a partial download or copy), naming the line (header = 1).

    pandas pads a short last line with NaN, so a truncated file would otherwise load with its tail
    silently dropped later as incomplete rows.
    """
    with path.open("rb") as handle:
        handle.seek(0, os.SEEK_END)
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) not in (b"\n", b"\r"):
                raise InputError(
                    path, f"ends mid-row at line {len(catalog) + 1}: the file is truncated (fetch it again)"
                )


def complete_rows(rows: pd.DataFrame, what: str) -> pd.DataFrame:
    """``rows`` without those lacking a :data:`REQUIRED_FIELDS` value; one log line says how many and why.

    Called on the rows a step actually uses (``what`` names them in the log), never on the whole
    catalog: an incomplete row of an image type nobody selected must not stop a run.
    """
    missing = rows.loc[:, list(REQUIRED_FIELDS)].isna()
    incomplete = missing.any(axis=1)
    if incomplete.any():
        lacking = missing[incomplete].apply(lambda lacks: ", ".join(lacks.index[lacks]), axis=1)
        reasons = Counter(zip(rows.loc[incomplete, "img_type"].astype(str), lacking, strict=True))
        detail = "; ".join(f"{n} {img_type} without {fields}" for (img_type, fields), n in sorted(reasons.items()))
        log.warning(
            "dropping %d of %d %s row(s) lacking a required field: %s", incomplete.sum(), len(rows), what, detail
        )
    return rows[~incomplete]


def write_catalog(path: str | os.PathLike[str], catalog: pd.DataFrame) -> None:
    """Write ``catalog`` with SEVIR's columns, in SEVIR's order and time format, atomically."""
    out = catalog.loc[:, list(CATALOG_COLUMNS)].copy()
    out["time_utc"] = pd.to_datetime(out["time_utc"]).dt.strftime("%Y-%m-%d %H:%M:%S")
    with atomic_path(path) as tmp:
        out.to_csv(tmp, index=False)


def event_table(catalog: pd.DataFrame) -> pd.DataFrame:
    """One row per event (from its VIL row): id, time_utc, episode_id, event_type, and the set of
    available modalities, sorted by time then id (the order every later step uses)."""
    available = catalog.groupby("id")["img_type"].agg(lambda s: frozenset(s) & frozenset(MODALITIES))
    events = catalog[catalog["img_type"] == "vil"].set_index("id")
    events = events.loc[:, ["time_utc", "episode_id", "event_type"]].copy()
    events["modalities"] = available.reindex(events.index)
    return events.reset_index().sort_values(["time_utc", "id"], kind="stable").reset_index(drop=True)


class Selection(settings_block("nowcast", "selection")):
    """The ``nowcast.selection`` block: which events to use (built by :func:`atmo.settings.build_block`).

    Real SEVIR is ~1 TB, so real runs pick a subset; ``None`` = no limit.

    ``modalities`` are the modality rows kept (others, e.g. ``vis``, are dropped); ``require``
    are the modalities an event must have (VIL, the forecast target, always).
    """


def select_events(catalog: pd.DataFrame, selection: Selection, where: str | os.PathLike[str]) -> pd.DataFrame:
    """Rows of ``catalog`` (read from ``where``) for the selected events and modalities (same columns, same values).

    Only the rows of the selected modalities are checked: those lacking a required field are dropped
    (:func:`complete_rows`), so are those with other frame offsets and repeats, each with a log line.
    ``max_events`` keeps events evenly spaced through the time-sorted list, so a date-based split
    still finds events on both sides of its boundaries. No event left: :class:`InputError` naming ``where``.
    """
    rows = complete_rows(catalog[catalog["img_type"].isin(selection.modalities)], "selected")
    regular = rows["minute_offsets"] == MINUTE_OFFSETS
    unique = ~rows.duplicated(["id", "img_type"])
    if (~regular).any() or (~unique).any():
        log.warning(
            "dropping %d row(s) with frame offsets other than -120..120 min and %d repeated (id, img_type) row(s)",
            (~regular).sum(),
            (~unique).sum(),
        )
    rows = rows[regular & unique]
    events = event_table(rows)
    keep = events["modalities"].map(lambda m: set(selection.require) <= m)
    storm = events["id"].str.startswith("S")
    keep &= (storm & ("storm" in selection.kinds)) | (~storm & ("random" in selection.kinds))
    if selection.event_types:
        keep &= ~storm | events["event_type"].isin(selection.event_types)
    if selection.start is not None:
        keep &= events["time_utc"] >= pd.Timestamp(selection.start)
    if selection.end is not None:
        keep &= events["time_utc"] < pd.Timestamp(selection.end)
    chosen = events.loc[keep, "id"]
    if selection.max_events is not None and len(chosen) > selection.max_events:
        evenly = np.unique(np.linspace(0, len(chosen) - 1, selection.max_events).round().astype(int))
        chosen = chosen.iloc[evenly]
    if chosen.empty:
        raise InputError(
            Path(where), f"no event of its {len(events)} usable one(s) matches {selection.WHERE} {selection}"
        )
    log.info("selected %d of %d events", len(chosen), len(events))
    return rows[rows["id"].isin(set(chosen))].reset_index(drop=True)


def data_file_names(catalog: pd.DataFrame) -> list[str]:
    """The distinct data files (relative to ``data/``) that ``catalog``'s rows refer to, sorted."""
    return sorted(set(catalog.loc[catalog["img_type"].isin(MODALITIES), "file_name"]))


# --------------------------------------------------------------------------------------------
# data files


def expected_raster_shape(row: pd.Series) -> tuple[int, int, int]:
    """``(H, W, 49)`` of one event's array, from the catalog row's ``size_y``/``size_x``."""
    return int(row["size_y"]), int(row["size_x"]), N_FRAMES


def _check_raster_file(path: Path, img_type: str, rows: pd.DataFrame) -> None:
    sizes = rows[["size_x", "size_y"]].drop_duplicates()
    if len(sizes) > 1:
        raise InputError(path, f"catalog gives {len(sizes)} different sizes for events in one file")
    with open_hdf5(path) as handle:
        ids = require_dataset(handle, "id", kinds="S", ndim=1)
        height, width, frames = expected_raster_shape(rows.iloc[0])
        data = require_dataset(handle, img_type, kinds="iu", shape=(ids.shape[0], height, width, frames))
        if data.dtype != RASTER_DTYPES[img_type]:
            raise InputError(path, f"dataset '{img_type}' has dtype {data.dtype}, expected {RASTER_DTYPES[img_type]}")
        file_ids = ids[()]
        for event_id, index in zip(rows["id"], rows["file_index"], strict=True):
            if not 0 <= int(index) < len(file_ids):
                raise InputError(path, f"event {event_id}: file_index {index} out of range 0..{len(file_ids) - 1}")
            if file_ids[int(index)].decode("ascii") != event_id:
                found = file_ids[int(index)].decode("ascii")
                raise InputError(path, f"event {event_id}: id at file_index {index} is {found}")


def _check_lightning_file(path: Path, rows: pd.DataFrame) -> None:
    with open_hdf5(path) as handle:
        for event_id in rows["id"]:
            if event_id not in handle:
                raise InputError(path, f"event {event_id} listed in the catalog is not in the file")
            require_dataset(handle, event_id, kinds="f", shape=(None, 5))


def check_data_file(path: str | os.PathLike[str], rows: pd.DataFrame) -> None:
    """Check one data file against the catalog ``rows`` that refer to it (one modality).

    Raises :class:`InputError` naming the file for: a missing, truncated or foreign file; a missing
    ``id``/modality dataset; dtype or shape other than the catalog's ``size_y x size_x x 49``;
    ``file_index`` out of range; an id at ``file_index`` other than the row's; a lightning event
    missing from its file.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"data file listed in the catalog for {len(rows)} event(s) does not exist")
    img_types = rows["img_type"].unique()
    if len(img_types) != 1:
        raise InputError(path, f"catalog lists it for several modalities {sorted(img_types)}")
    if img_types[0] == "lght":
        _check_lightning_file(path, rows)
    else:
        _check_raster_file(path, img_types[0], rows)


def check_data_files(
    catalog: pd.DataFrame, data_dir: str | os.PathLike[str], quarantine_dir: str | os.PathLike[str] | None = None
) -> None:
    """:func:`check_data_file` for every file (under ``data_dir``) that ``catalog`` refers to,
    so that a bad file stops a job before anything is computed.

    With ``quarantine_dir``, a file that exists but fails its check (truncated, corrupt, foreign) is
    moved there first, with a note of its size and the problem: the fetch job's output is then
    missing, so the next run fetches it again instead of failing on the same file forever.
    """
    rows = catalog[catalog["img_type"].isin(MODALITIES)]
    for file_name, group in rows.groupby("file_name", sort=True):
        path = Path(data_dir) / file_name
        try:
            check_data_file(path, group)
        except InputError as error:
            if quarantine_dir is None or (not path.is_symlink() and not path.is_file()):
                raise
            moved = quarantine(path, Path(quarantine_dir) / file_name, error.problem)
            raise InputError(path, f"{error.problem}; moved to {moved}: the next run fetches it again") from None


def quarantine(path: Path, dest: Path, problem: str) -> Path:
    """Move ``path`` to ``dest`` (replacing an older one) beside ``<dest>.txt`` naming its size and ``problem``."""
    size = path.stat().st_size if path.exists() else path.lstat().st_size  # a link: its target's size
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, dest)
    write_text(Path(f"{dest}.txt"), f"moved here from {path} ({size} bytes): {problem}\n")
    return dest


class SevirReader:
    """Read events from checked SEVIR files, keeping each file open once (files are GB-sized).

    Use as a context manager. Methods take a catalog row (a ``pd.Series``).
    """

    def __init__(self, data_dir: str | os.PathLike[str]) -> None:
        self.data_dir = Path(data_dir)
        self._handles: dict[str, h5py.File] = {}

    def _file(self, file_name: str) -> h5py.File:
        if file_name not in self._handles:
            self._handles[file_name] = open_hdf5(self.data_dir / file_name)
        return self._handles[file_name]

    def raw(self, row: pd.Series) -> np.ndarray:
        """Stored values: ``(H, W, 49)`` raster (uint8/int16) or ``(n_flashes, 5)`` float flashes."""
        handle = self._file(row["file_name"])
        if row["img_type"] == "lght":
            return np.asarray(handle[row["id"]][()], dtype=np.float64)
        return handle[row["img_type"]][int(row["file_index"])]

    def physical(self, row: pd.Series) -> np.ndarray:
        """Raster in physical units (VIL kg/m2 with NaN for missing, IR degC), ``(H, W, 49)``."""
        return decode(row["img_type"], self.raw(row))

    def close(self) -> None:
        for handle in self._handles.values():
            handle.close()
        self._handles.clear()

    def __enter__(self) -> SevirReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def rows_by_event(catalog: pd.DataFrame, ids: Iterable[str]) -> Iterator[tuple[str, dict[str, pd.Series]]]:
    """``(id, {img_type: row})`` for each id in ``ids``, in that order."""
    indexed = {event_id: group for event_id, group in catalog.groupby("id")}
    for event_id in ids:
        group = indexed.get(event_id)
        rows = {} if group is None else {row["img_type"]: row for _, row in group.iterrows()}
        yield event_id, rows
