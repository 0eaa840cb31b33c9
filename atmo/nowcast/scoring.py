"""Score nowcasts against the truth of a test split: one flat, JSON-able dict per model.

Inputs are ``(N, T, H, W)`` arrays in code/255 scale, or HDF5 files holding them: a forecast file
with dataset :data:`FORECAST_DATASET` and the nowcast cache split (dataset ``y``). Files are read
``batch_size`` samples at a time, so a full test set never has to fit in memory. When both files
carry ``event_id`` they must list the same events in the same order.

Keys of the result (``t`` = threshold in VIL code, ``k`` = lead index 1..T; lead ``k`` is
``5 * k`` minutes ahead in SEVIR). Undefined scores (zero denominator) are ``None`` (JSON null):

- ``n_samples``, ``n_leads``, ``thresholds`` (list of codes), ``code_tolerance``, ``unreached_threshold``
- ``csi_{t}_lead{k}``, ``pod_{t}_lead{k}``, ``far_{t}_lead{k}``, ``bias_{t}_lead{k}``: per lead time
- ``csi_{t}``, ``pod_{t}``, ``far_{t}``, ``bias_{t}``: counts pooled over all leads and pixels
- ``hits_{t}``, ``misses_{t}``, ``false_alarms_{t}``, ``correct_negatives_{t}``: those pooled counts
- ``hss_{t}``, ``hss_{t}_lead{k}``: the Heidke skill score from the same counts
- ``csi_m``: mean of ``csi_{t}`` over thresholds (the benchmark's CSI-M), listed in ``csi_m_thresholds``;
  a threshold the test truth never reaches is left out of it or counted as CSI 0 as
  ``unreached_threshold`` says (``skip`` / ``zero``, :func:`atmo.metrics.contingency.threshold_mean`);
  ``csi_m_lead{k}`` per lead (reached or not at that lead); ``hss_m`` likewise for HSS
- ``csi_pool{s}_{t}``, ``csi_m_pool{s}``: CSI and CSI-M after s x s max-pooling (``pool_sizes``, the
  P4/P16 of CasCast and SimCast), counts summed over leads and pixels as above
- ``mse``, ``mae``, ``mse_lead{k}``, ``mae_lead{k}``: in VIL code units (0..255 scale, squared for
  MSE), as the SEVIR benchmark reports MSE (persistence about 1339 on the real test set)
- ``dry_mean``, ``dry_mean_lead{k}``: the mean forecast VIL code over test pixels whose truth code is 0
  (:mod:`atmo.metrics.dry`), pooled over all leads as a ratio of sums, and per lead: a weak haze over
  dry areas, which no contingency score from VIP 16 up sees, raises it
- ``bias74_60min``: the frequency bias (H + F) / (H + M) at VIL code >= 74 at lead :func:`bias_lead`,
  60 minutes after the last input frame (lead 12 of SEVIR's 12 frames), or the last lead when the
  forecasts stop short of 60 minutes; above 1 a forecast spreads or keeps storms, below 1 they fade
- ``lpips``: mean LPIPS (AlexNet v0.1) over all N*T frames, or ``None`` with ``lpips_reason``;
  ``lpips_n_frames``
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from atmo.errors import InputError
from atmo.io.hdf5 import open_hdf5, require_dataset
from atmo.metrics.contingency import (
    CODE_TOLERANCE,
    UNREACHED_RULES,
    ContingencyAccumulator,
    check_thresholds,
    threshold_label,
)
from atmo.metrics.dry import DryMeanAccumulator
from atmo.metrics.lpips_offline import MIN_FRAME_SIZE, LpipsMeter, LpipsResult, load_lpips_alexnet
from atmo.metrics.regression import ErrorAccumulator
from atmo.settings import settings_block

log = logging.getLogger(__name__)

#: Dataset holding ``(N, T_out, H, W)`` forecasts in code/255 scale in a forecast HDF5 file.
FORECAST_DATASET = "forecast"
#: Dataset holding the truth in a nowcast cache split file.
TRUTH_DATASET = "y"
#: SEVIR's frame interval: lead ``k`` (1-based) is ``5 k`` minutes after the last input frame.
MINUTES_PER_LEAD = 5.0
#: The threshold (VIL code) and lead time of ``bias74_60min``.
BIAS_THRESHOLD = 74
BIAS_MINUTES = 60.0

_CODE_SCALE = 255.0

Source = str | os.PathLike[str] | ArrayLike


class ScoringConfig(settings_block("nowcast", "scoring")):
    """The ``nowcast.scoring`` config block (built by :func:`atmo.settings.build_block`).

    ``thresholds`` are VIL codes (0..255) of the contingency scores, ``pool_sizes`` the max-pooling
    block sizes of the pooled CSI (1, unpooled, is always scored), ``unreached_threshold`` the CSI-M
    rule for a threshold the test truth never reaches (``skip``: left out, so small synthetic test sets
    get a defined mean; ``zero``: CSI 0, as the SEVIR leaderboard counts it), ``lpips`` switches LPIPS on,
    ``batch_size`` is the samples read at a time and ``event_index`` the test sample of the event
    panel (used by the table step, not by :func:`score_forecasts`).
    """


def score_forecasts(
    forecast: Source,
    truth: Source,
    thresholds: Sequence[float] = ScoringConfig.thresholds,
    *,
    pool_sizes: Sequence[int] = ScoringConfig.pool_sizes,
    unreached_threshold: str = ScoringConfig.unreached_threshold,
    batch_size: int = ScoringConfig.batch_size,
    lpips: bool = ScoringConfig.lpips,
    lpips_weights: str | os.PathLike[str] | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Score ``(N, T, H, W)`` forecasts against truth (arrays or HDF5 paths); see the module docstring.

    Bad files raise :class:`InputError` and bad thresholds or settings ``ValueError``, all before any scoring.
    """
    thresholds_code = check_thresholds(thresholds)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if unreached_threshold not in UNREACHED_RULES:
        raise ValueError(f"unreached_threshold must be one of {list(UNREACHED_RULES)}, got {unreached_threshold!r}")
    with ExitStack() as stack:
        f_source = _open_source(forecast, FORECAST_DATASET, stack)
        o_source = _open_source(truth, TRUTH_DATASET, stack)
        _check_pair(f_source, o_source)
        f_data, o_data = f_source[0], o_source[0]
        n_samples, n_leads = f_data.shape[:2]

        contingency = ContingencyAccumulator(thresholds_code, n_leads)
        pooled = [ContingencyAccumulator(thresholds_code, n_leads, pool=size) for size in pool_sizes]
        counters = [contingency, *pooled]
        bias_counts = contingency
        if BIAS_THRESHOLD not in thresholds_code:  # bias74_60min is reported whatever the thresholds
            bias_counts = ContingencyAccumulator([BIAS_THRESHOLD], n_leads)
            counters.append(bias_counts)
        errors = ErrorAccumulator(n_leads)
        dry = DryMeanAccumulator(n_leads)
        meter, lpips_reason = _lpips_meter(lpips, lpips_weights, f_data.shape[-2:], device)
        for start, f_batch, o_batch in _batches(f_data, o_data, batch_size):
            try:
                for accumulator in counters:
                    accumulator.update(f_batch, o_batch)
            except ValueError as err:  # NaN/inf found only once the values are read
                raise InputError(f_source[2], f"samples from index {start}: {err}") from err
            errors.update(f_batch.astype(np.float32) * _CODE_SCALE, o_batch.astype(np.float32) * _CODE_SCALE)
            dry.update(f_batch, o_batch)
            if meter is not None:
                meter.update(f_batch, o_batch)
        log.info("scored %d samples x %d leads", n_samples, n_leads)

    result: dict[str, Any] = {
        "n_samples": int(n_samples),
        "n_leads": int(n_leads),
        "thresholds": [_threshold_value(t) for t in thresholds_code],
        "code_tolerance": CODE_TOLERANCE,
        "unreached_threshold": unreached_threshold,
    }
    result.update(_contingency_entries(contingency, unreached_threshold))
    for accumulator in pooled:
        result.update(_pooled_entries(accumulator, unreached_threshold))
    result.update(_error_entries(errors))
    result.update(_dry_entries(dry))
    result["bias74_60min"] = _bias_at(bias_counts, BIAS_THRESHOLD, bias_lead(int(n_leads)))
    lpips_result = meter.result() if meter is not None else LpipsResult(None, 0, lpips_reason)
    result.update(lpips=lpips_result.value, lpips_reason=lpips_result.reason, lpips_n_frames=lpips_result.n_frames)
    return {key: _json_value(value) for key, value in result.items()}


def _contingency_entries(acc: ContingencyAccumulator, unreached: str) -> dict[str, Any]:
    """Flatten per-lead and pooled scores, pooled counts and CSI-M into ``name_{t}[_lead{k}]`` keys."""
    scores = acc.scores()
    out: dict[str, Any] = {}
    counts = {
        "hits": acc.hits,
        "misses": acc.misses,
        "false_alarms": acc.false_alarms,
        "correct_negatives": acc.correct_negatives,
    }
    for i, threshold in enumerate(acc.thresholds):
        label = threshold_label(threshold)
        for name in ("csi", "pod", "far", "bias", "hss"):
            out[f"{name}_{label}"] = scores[f"{name}_all"][i]
            for k in range(acc.n_leads):
                out[f"{name}_{label}_lead{k + 1}"] = scores[name][i, k]
        for name, table in counts.items():
            out[f"{name}_{label}"] = int(table[i].sum())
    out["csi_m"] = acc.csi_m(unreached)
    out["hss_m"] = acc.hss_m(unreached)
    averaged = acc.defined_thresholds() if unreached == "skip" else np.ones(acc.thresholds.size, dtype=bool)
    out["csi_m_thresholds"] = [_threshold_value(t) for t in acc.thresholds[averaged]]
    for k, value in enumerate(acc.csi_m_per_lead(unreached)):
        out[f"csi_m_lead{k + 1}"] = value
    return out


def _pooled_entries(acc: ContingencyAccumulator, unreached: str) -> dict[str, Any]:
    """``csi_pool{s}_{t}`` per threshold and ``csi_m_pool{s}`` of one max-pooled accumulator."""
    csi = acc.scores()["csi_all"]
    out: dict[str, Any] = {f"csi_pool{acc.pool}_{threshold_label(t)}": csi[i] for i, t in enumerate(acc.thresholds)}
    out[f"csi_m_pool{acc.pool}"] = acc.csi_m(unreached)
    return out


def _threshold_value(threshold: float) -> int | float:
    """A threshold code as JSON shows it: ``74`` for integral codes, ``74.5`` otherwise."""
    return int(threshold) if float(threshold).is_integer() else float(threshold)


def _error_entries(acc: ErrorAccumulator) -> dict[str, Any]:
    """MSE/MAE overall and per lead (code units)."""
    out: dict[str, Any] = {"mse": acc.mse_overall(), "mae": acc.mae_overall()}
    for k, (mse_k, mae_k) in enumerate(zip(acc.mse(), acc.mae(), strict=True)):
        out[f"mse_lead{k + 1}"] = mse_k
        out[f"mae_lead{k + 1}"] = mae_k
    return out


def bias_lead(n_leads: int, minutes: float = BIAS_MINUTES, minutes_per_lead: float = MINUTES_PER_LEAD) -> int:
    """The 1-based lead closest to ``minutes`` after the last input frame, or the last of ``n_leads`` short of it."""
    return int(min(n_leads, max(1, round(minutes / minutes_per_lead))))


def _bias_at(acc: ContingencyAccumulator, threshold: float, lead: int) -> float:
    """The frequency bias at one threshold of ``acc`` and one 1-based lead (NaN when the truth has no event)."""
    index = int(np.flatnonzero(acc.thresholds == threshold)[0])
    return float(acc.scores()["bias"][index, lead - 1])


def _dry_entries(acc: DryMeanAccumulator) -> dict[str, Any]:
    """``dry_mean`` pooled over leads and ``dry_mean_lead{k}`` per lead (VIL codes)."""
    out: dict[str, Any] = {"dry_mean": acc.overall()}
    for k, value in enumerate(acc.per_lead()):
        out[f"dry_mean_lead{k + 1}"] = value
    return out


def _lpips_meter(
    enabled: bool, weights: str | os.PathLike[str] | None, frame_shape: Sequence[int], device: str
) -> tuple[LpipsMeter | None, str | None]:
    """An LPIPS meter, or ``None`` and the reason LPIPS is not reported."""
    if not enabled:
        return None, "disabled"
    if min(frame_shape) < MIN_FRAME_SIZE:
        return None, f"frames of {tuple(frame_shape)} px are smaller than AlexNet's {MIN_FRAME_SIZE} px"
    model, reason = load_lpips_alexnet(weights)
    if model is None:
        log.warning("LPIPS not computed: %s", reason)
        return None, reason
    return LpipsMeter(model, device=device), None


def _open_source(source: Source, dataset: str, stack: ExitStack) -> tuple[Any, np.ndarray | None, str]:
    """``(data, event_ids, name)``: the HDF5 dataset for a path (kept open by ``stack``) or the array."""
    if isinstance(source, str | os.PathLike):
        handle = stack.enter_context(open_hdf5(source))
        data = require_dataset(handle, dataset, kinds="f", ndim=4)
        event_ids = handle["event_id"][()] if "event_id" in handle else None
        return data, event_ids, os.fspath(source)
    array = np.asarray(source)
    if array.ndim != 4 or array.dtype.kind != "f":
        raise ValueError(f"expected a float (N, T, H, W) array in code/255 scale, got {array.dtype} {array.shape}")
    return array, None, f"{dataset} array"


def _check_pair(forecast: tuple[Any, np.ndarray | None, str], truth: tuple[Any, np.ndarray | None, str]) -> None:
    """Raise :class:`InputError` naming the forecast unless forecast and truth line up sample by sample."""
    (f_data, f_ids, f_name), (o_data, o_ids, o_name) = forecast, truth
    if tuple(f_data.shape) != tuple(o_data.shape):
        raise InputError(f_name, f"forecast shape {tuple(f_data.shape)} differs from {o_name} {tuple(o_data.shape)}")
    if f_data.shape[0] == 0:
        raise InputError(f_name, "no samples to score")
    if f_ids is not None and o_ids is not None and not np.array_equal(f_ids, o_ids):
        raise InputError(f_name, f"event_id order differs from {o_name}: forecasts belong to other samples")


def _batches(f_data: Any, o_data: Any, batch_size: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(start, forecast, truth)`` for consecutive ``batch_size`` slices of both sources, as numpy arrays."""
    for start in range(0, f_data.shape[0], batch_size):
        stop = start + batch_size
        yield start, np.asarray(f_data[start:stop]), np.asarray(o_data[start:stop])


def _json_value(value: Any) -> Any:
    """numpy scalars -> Python; NaN -> None so the dict is strict JSON."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value
