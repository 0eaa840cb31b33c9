"""Flips and quarter turns of fields and of displacement fields, and their inverses (atmo.train.dihedral)."""

from __future__ import annotations

import itertools

import pytest
import torch

from atmo.nowcast.models.advection import semi_lagrangian_warp
from atmo.train.dihedral import (
    SYMMETRIES,
    DihedralOp,
    draw_dihedral,
    transform_field,
    transform_vectors,
    untransform_field,
)

ALL_OPS = [DihedralOp(bool(c), bool(r), k) for c, r, k in itertools.product((0, 1), (0, 1), range(4))]


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_turned_motion_moves_the_turned_field_as_the_motion_moved_the_field(op: DihedralOp) -> None:
    field = torch.rand(1, 1, 12, 12, generator=torch.Generator().manual_seed(0))
    motion = torch.zeros(1, 2, 12, 12)
    motion[:, 0], motion[:, 1] = 2.0, -1.0  # 2 columns right, 1 row up
    moved_then_turned = transform_field(semi_lagrangian_warp(field, motion), op)
    turned_then_moved = semi_lagrangian_warp(transform_field(field, op), transform_vectors(motion, op))
    assert torch.allclose(turned_then_moved, moved_then_turned, atol=1e-5)


def test_one_quarter_turn_maps_x_y_to_y_minus_x() -> None:
    motion = torch.zeros(2, 3, 3)
    motion[0], motion[1] = 2.0, 1.0
    turned = transform_vectors(motion, DihedralOp(quarter_turns=1))
    assert torch.equal(turned[:, 0, 0], torch.tensor([1.0, -2.0]))


def test_draws_are_reproducible_and_cover_all_eight_symmetries() -> None:
    torch.manual_seed(3)
    first = [draw_dihedral(True, True, square=True) for _ in range(200)]
    torch.manual_seed(3)
    assert [draw_dihedral(True, True, square=True) for _ in range(200)] == first
    asymmetric = torch.arange(9.0).view(3, 3)
    assert len({tuple(transform_field(asymmetric, op).flatten().tolist()) for op in first}) == 8


def test_switched_off_parts_are_never_drawn() -> None:
    ops = {draw_dihedral(True, False, square=True) for _ in range(50)}
    assert {op.quarter_turns for op in ops} == {0} and len(ops) == 4
    assert {draw_dihedral(False, True, square=False) for _ in range(20)} == {DihedralOp()}


def as_tuple(field: torch.Tensor) -> tuple[float, ...]:
    return tuple(field.flatten().tolist())


@pytest.mark.parametrize("op", ALL_OPS, ids=str)
def test_untransform_undoes_every_op(op: DihedralOp) -> None:
    field = torch.arange(2 * 3 * 4 * 4.0).view(2, 3, 4, 4)
    assert torch.equal(untransform_field(transform_field(field, op), op), field)
    oblong = torch.arange(12.0).view(3, 4)  # a turned oblong field changes shape and comes back
    assert torch.equal(untransform_field(transform_field(oblong, op), op), oblong)


def test_the_averaged_symmetries_are_the_eight_that_training_draws_from() -> None:
    asymmetric = torch.arange(9.0).view(3, 3)
    averaged = [as_tuple(transform_field(asymmetric, op)) for op in SYMMETRIES]
    assert len(set(averaged)) == len(SYMMETRIES) == 8
    torch.manual_seed(0)
    drawn = {as_tuple(transform_field(asymmetric, draw_dihedral(True, True, square=True))) for _ in range(200)}
    assert drawn == set(averaged)
    # in the order TTA has always summed them (a float sum depends on it): turns, then turns after a column flip
    turns = [asymmetric.rot90(k) for k in range(4)] + [asymmetric.flip(-1).rot90(k) for k in range(4)]
    assert averaged == [as_tuple(turned) for turned in turns]
