"""Storm physics of the synthetic SEVIR generator: merges, splits, propagation, initiation precursors,
VIP shares and the initiation-free oracle, checked on the rendered fields against the drawn history."""

from __future__ import annotations

import numpy as np
import pytest

from atmo.nowcast.synthetic.sevir import (
    VIP_SHARE_TARGETS,
    EventPlan,
    SyntheticSevirConfig,
    oracle_vil,
    plan_events,
    simulate_event,
    storm_history,
)
from atmo.nowcast.synthetic.storm_cells import MERGE_DISTANCE, StormHistory
from atmo.nowcast.synthetic.storm_render import footprint_km

# 16 storm events of the workflow's default size (about 2 s): the calibration set of the VIP shares.
STORMS = SyntheticSevirConfig(n_events=16, image_size=128, storm_fraction=1.0, missing_fraction=0.0, seed=5)
# Smaller events, storm and random ones, for the oracle (which renders every event once more per frame).
MIXED = SyntheticSevirConfig(n_events=8, image_size=64, storm_fraction=0.75, missing_fraction=0.0, seed=11)
VIP_FACTOR = 2.0

Event = tuple[EventPlan, dict[str, np.ndarray], StormHistory]


@pytest.fixture(scope="module")
def storms() -> list[Event]:
    return [(plan, simulate_event(plan, STORMS), storm_history(plan, STORMS)) for plan in plan_events(STORMS)]


def _in_view(xy: tuple[float, float] | np.ndarray, size: int) -> bool:
    return bool(0 <= xy[0] < size and 0 <= xy[1] < size)


def test_vip_shares_are_near_the_targets(storms: list[Event]) -> None:
    codes = np.stack([fields["vil"] for _, fields, _ in storms])
    for threshold, target in VIP_SHARE_TARGETS.items():
        share = (codes >= threshold).mean()
        assert target / VIP_FACTOR < share < target * VIP_FACTOR, (threshold, share, target)


def test_merges_and_splits_occur_in_most_storm_events(storms: list[Event]) -> None:
    size = STORMS.image_size
    merging = splitting = 0
    for _, _, history in storms:
        kinds = {e.kind for e in history.events if _in_view(e.xy_km, size)}
        merging += "merge" in kinds
        splitting += "split" in kinds
    assert merging >= 10 and splitting >= 10, (merging, splitting)


def test_merges_absorb_the_weaker_cell_into_a_stronger_survivor(storms: list[Event]) -> None:
    """The weaker cell fades out over 2-3 frames while sliding into the survivor, which by then has
    gained at least 30 % of the absorbed amplitude (growing or, if it was decaying, made younger)."""
    size, checked = STORMS.image_size, 0
    gained = 0
    for _, _, h in storms:
        absorbed_at = {e.cells[0]: e.frame for e in h.events if e.kind == "merge"}
        for event in (e for e in h.events if e.kind == "merge" and e.frame <= 44 and _in_view(e.xy_km, size)):
            weak, strong, f = *event.cells, event.frame
            amp, xy = h.amplitude_kg_m2, h.xy_km
            assert np.linalg.norm(xy[weak, f] - xy[strong, f]) < MERGE_DISTANCE * (
                h.radius_km[weak, f] + h.radius_km[strong, f]
            )
            assert amp[weak, f] <= amp[strong, f]
            gone = f + next(k for k in (2, 3, 4) if amp[weak, f + k] == 0)  # absorbed within 2-3 frames
            assert gone - f in (2, 3) and np.all(np.diff(amp[weak, f : gone + 1]) < 0)
            if amp[strong, gone] > 0 and absorbed_at.get(strong, 99) > gone:  # the survivor lives on
                assert np.linalg.norm(xy[weak, gone] - xy[strong, gone]) < 1e-3  # slid into it
                checked += 1
                gained += amp[strong, gone] - amp[strong, f] >= 0.3 * amp[weak, f]
    assert checked >= 20 and gained >= 0.85 * checked, (checked, gained)


def test_split_daughters_share_the_parent_and_move_apart_across_its_motion(storms: list[Event]) -> None:
    rates = []
    for _, _, h in storms:
        for event in (e for e in h.events if e.kind == "split" and 1 <= e.frame <= 44):
            parent, right, left = event.cells
            f, amp, xy = event.frame, h.amplitude_kg_m2, h.xy_km
            assert amp[parent, f] == 0 < amp[parent, f - 1]
            assert 0.7 < (amp[right, f] + amp[left, f]) / amp[parent, f - 1] < 1.3
            assert h.root[right] == h.root[left] == h.root[parent]
            if np.all(amp[[right, left], f + 4] > 0):
                apart = (xy[right, f + 4] - xy[left, f + 4]) - (xy[right, f] - xy[left, f])
                motion = xy[parent, f] - xy[parent, f - 1]
                cosine = abs(apart @ motion) / (np.linalg.norm(apart) * np.linalg.norm(motion))
                assert cosine < 0.5  # across the motion
                rates.append(np.linalg.norm(apart) / 4)
    assert len(rates) >= 10 and 1.0 <= np.median(rates) <= 3.0 and max(rates) < 3.5


def test_cells_propagate_off_the_steering_flow(storms: list[Event]) -> None:
    """Right and left movers deviate from the local steering wind by ~1.5-2 km per frame, ordinary
    cells by a few tenths, so cell motion is not one smooth field."""
    deviation = []
    for _, _, h in storms:
        moving = (h.amplitude_kg_m2[:, 1:] > 0) & (h.amplitude_kg_m2[:, :-1] > 0)
        for f in range(1, 49):
            cells = np.flatnonzero(moving[:, f - 1])
            step = h.xy_km[cells, f] - h.xy_km[cells, f - 1]
            deviation.extend(np.linalg.norm(step - h.flow(h.xy_km[cells, f - 1].astype(float), f - 0.5), axis=1))
    deviation = np.asarray(deviation)
    assert 0.15 < (deviation > 1.0).mean() < 0.7 and (deviation < 0.5).mean() > 0.2
    veer = [np.arccos(np.clip(_unit(h.flow.mean(0)) @ _unit(h.flow.mean(48)), -1, 1)) for _, _, h in storms]
    assert max(veer) > 0.2  # the mean wind turns during some events


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def test_initiations_mark_the_vil_onset_and_most_are_triggered(storms: list[Event]) -> None:
    causes = []
    for _, _, h in storms:
        for event in (e for e in h.events if e.kind == "initiation"):
            cell, f = event.cells[0], event.frame
            assert h.onset[cell] == f and h.amplitude_kg_m2[cell, f] > 0 and np.all(h.amplitude_kg_m2[cell, :f] == 0)
            start = h.precursor_start[cell]
            assert 3 <= f - start <= 5 and np.all(h.cumulus[cell, max(start, 0) : f] > 0)
            if _in_view(event.xy_km, STORMS.image_size):
                causes.append(event.cause)
    assert {"boundary", "collision", "flank", "random", "anchor"} <= set(causes)
    assert causes.count("random") < 0.4 * len(causes)


def _site(h: StormHistory, cell: int, frame: int, pixel_km: int, at: int | None = None) -> tuple[int, int, int]:
    """(row, column, frame) index of ``cell``'s centre at ``frame`` on a grid of ``pixel_km``, read at
    frame ``at`` (default: the same frame)."""
    x, y = h.xy_km[cell, frame]
    return int(y // pixel_km), int(x // pixel_km), frame if at is None else at


def test_new_cells_are_announced_by_a_cooling_cloud_top_three_frames_ahead(storms: list[Event]) -> None:
    """At the site of an initiation under clear sky, IR107 drops by >= 10 degC at least 3 frames (15 min)
    before the cell's own VIL there reaches VIP 1 (code 16). The cell's own VIL is told from other
    storms' rain drifting over the site with the oracle, which renders the event without it."""
    size, tested = STORMS.image_size, 0
    for plan, fields, h in storms:
        vil, ir107 = fields["vil"], fields["ir107"] / 100.0
        for event in (e for e in h.events if e.kind == "initiation"):
            cell = event.cells[0]
            start, onset = int(h.precursor_start[cell]), int(h.onset[cell])
            frames = range(start, onset + 6)
            if start < 1 or onset + 5 > 48 or not all(_in_view(h.xy_km[cell, f], size) for f in frames):
                continue
            clear_degc = ir107[_site(h, cell, start, 2, at=start - 1)]
            if clear_degc <= 0 or vil[_site(h, cell, start, 1, at=start - 1)] >= 16:
                continue
            without = oracle_vil(plan, STORMS, start)  # hides the cell (and any later one)
            site = [_site(h, cell, f, 1) for f in frames]
            own = [f for f, px in zip(frames, site, strict=True) if vil[px] >= 16 and vil[px] > without[px]]
            if not own:
                continue  # too weak (or absorbed too soon) to show at its site: nothing to announce
            cold = next(f for f in frames if ir107[_site(h, cell, f, 2)] <= clear_degc - 10)
            wet = own[0]
            assert wet - cold >= 3, (event, cold, wet)
            tested += 1
    assert tested >= 20, tested


@pytest.fixture(scope="module")
def mixed() -> list[Event]:
    return [(plan, simulate_event(plan, MIXED), storm_history(plan, MIXED)) for plan in plan_events(MIXED)]


def _hidden_reach(h: StormHistory, last: int, size: int) -> np.ndarray:
    """``(n, 49)`` True where a cell that starts after ``last`` has VIL that can reach the image."""
    reach = footprint_km(h.radius_km, h.aspect[:, None])
    near = np.all((h.xy_km + reach[..., None] > 0) & (h.xy_km - reach[..., None] < size), axis=-1)
    return ~h.present(last)[:, None] & (h.amplitude_kg_m2 > 0) & near


def test_oracle_hides_exactly_the_cells_that_start_later(mixed: list[Event]) -> None:
    size, hid = MIXED.image_size, 0
    rows, cols = np.mgrid[0:size, 0:size] + 0.5
    for plan, fields, h in mixed:
        for last in (12, 24, 36):
            oracle, truth = oracle_vil(plan, MIXED, last), fields["vil"]
            assert oracle.dtype == np.uint8 and oracle.shape == truth.shape
            assert np.array_equal(oracle[..., : last + 1], truth[..., : last + 1])
            hidden = _hidden_reach(h, last, size)
            for f in range(last + 1, 49):
                cells = np.flatnonzero(hidden[:, f])
                reach = footprint_km(h.radius_km[cells, f], h.aspect[cells])
                covered = np.zeros((size, size), dtype=bool)
                for (x, y), r in zip(h.xy_km[cells, f], reach, strict=True):
                    covered |= (np.abs(cols - x) <= r) & (np.abs(rows - y) <= r)
                changed = oracle[..., f] != truth[..., f]
                assert not np.any(changed & ~covered), (plan.id, last, f)
            strong = np.flatnonzero((hidden & (h.amplitude_kg_m2 > 5))[:, last + 1 :].any(axis=1))
            if len(strong):
                hid += 1
                assert np.any(oracle[..., last + 1 :] != truth[..., last + 1 :])
    assert hid >= 5


def test_oracle_equals_the_event_when_nothing_starts_later(mixed: list[Event]) -> None:
    quiet_after = 0
    for plan, fields, h in mixed:
        for last in (12, 24, 36):
            present_rain = (h.present(last)[:, None] & (h.amplitude_kg_m2 > 1))[:, last + 1 :].any()
            if _hidden_reach(h, last, MIXED.image_size).any() or not present_rain:
                continue
            quiet_after += 1
            assert np.array_equal(oracle_vil(plan, MIXED, last), fields["vil"])
    assert quiet_after >= 1


def test_oracle_keeps_split_daughters_of_present_cells(mixed: list[Event], storms: list[Event]) -> None:
    kept = 0
    for _, _, h in [*mixed, *storms]:
        for event in (e for e in h.events if e.kind == "split" and e.frame > 12):
            parent, right, left = event.cells
            last = event.frame - 1
            assert h.present(last)[parent] == h.present(last)[right] == h.present(last)[left]
            kept += bool(h.present(last)[parent])
    assert kept >= 5


def test_oracle_rejects_frames_outside_the_event() -> None:
    plan = plan_events(MIXED)[0]
    for last in (-1, 49):
        with pytest.raises(ValueError, match="last_input_frame"):
            oracle_vil(plan, MIXED, last)
