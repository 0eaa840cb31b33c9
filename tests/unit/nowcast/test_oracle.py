"""The oracle forecast: the generator's own evolution of the test samples, on the cache's grid."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest
from sevir_helpers import SMALL, build_caches, event_ids

from atmo.errors import InputError
from atmo.nowcast.cache import CacheConfig
from atmo.nowcast.oracle import write_oracle_forecasts
from atmo.nowcast.synthetic.sevir import plan_events, storm_history

CACHE = CacheConfig(grid_size=16, frames_in=13, frames_out=12, stride=12)


def _initiates_within(history, first_frame: int, last_frame: int) -> bool:
    """Whether a cell of its own lineage (not a split daughter) first shows VIL within the window:
    what the oracle leaves out."""
    own_lineage = history.root == np.arange(len(history.onset))
    starts = own_lineage & (history.onset >= first_frame) & (history.onset <= last_frame)
    return bool(starts.any())


def test_oracle_is_the_truth_wherever_no_cell_initiates_and_differs_only_by_initiations(
    sevir_tree: Path, tmp_path: Path
) -> None:
    ids = event_ids(sevir_tree)
    cache = build_caches(sevir_tree, tmp_path, {"test": ids}, CACHE)["test"]
    write_oracle_forecasts(cache, SMALL, tmp_path / "oracle.h5")
    plans = {plan.id: plan for plan in plan_events(SMALL)}
    with h5py.File(cache) as truth_file, h5py.File(tmp_path / "oracle.h5") as oracle_file:
        truth, oracle = truth_file["y"][...].astype(np.float32), oracle_file["forecast"][...]
        starts, events = truth_file["t0"][...], [e.decode() for e in truth_file["event_id"][...]]
        assert [e.decode() for e in oracle_file["event_id"][...]] == events
    exact = differing = 0
    for k, (event, start) in enumerate(zip(events, starts, strict=True)):
        first = int(start) + CACHE.frames_in
        initiates = _initiates_within(storm_history(plans[event], SMALL), first, first + CACHE.frames_out - 1)
        close = np.allclose(oracle[k], truth[k], atol=1e-3)  # the cache stores float16
        if not initiates:
            assert close, (event, int(start))
            exact += 1
        elif not close:
            assert (oracle[k] <= truth[k] + 1e-3).mean() > 0.5  # left-out cells mostly remove rain
            differing += 1
    assert exact > 0 and differing > 0, (exact, differing)


def test_samples_of_another_synthetic_set_are_refused(sevir_tree: Path, tmp_path: Path) -> None:
    cache = build_caches(sevir_tree, tmp_path, {"test": event_ids(sevir_tree)[:1]}, CACHE)["test"]
    with pytest.raises(InputError, match="not in the synthetic set"):
        write_oracle_forecasts(cache, replace(SMALL, seed=SMALL.seed + 1), tmp_path / "oracle.h5")
    assert not (tmp_path / "oracle.h5").exists()
