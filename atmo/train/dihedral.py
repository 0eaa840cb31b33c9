"""Flips and quarter turns of a field: random ones to augment training samples, all eight to average predictions.

Rain, risk and clouds have no preferred orientation at the scale of a training tile, so the eight
symmetries of the square (flips of rows and columns, and turns by 90°) multiply the training data at
no cost. The draw order (column flip, row flip, turns) is fixed, so one seeded torch generator gives
the same augmentation on a resumed run. A vector field whose channels are ``(x, y)`` displacements
(columns, rows) changes its components as well as its pixels: :func:`transform_vectors`.

Test-time augmentation predicts each of the :data:`SYMMETRIES` of an input and maps every prediction
back with :func:`untransform_field` before averaging, so it uses the very operations training drew from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class DihedralOp:
    """Flip the columns, then the rows, then turn by ``quarter_turns`` x 90° (``torch.rot90`` sense)."""

    flip_cols: bool = False
    flip_rows: bool = False
    quarter_turns: int = 0


#: The eight symmetries of the square: the identity and three quarter turns, then the same after a column flip.
SYMMETRIES = tuple(DihedralOp(flip_cols=flip, quarter_turns=turns) for flip in (False, True) for turns in range(4))


def draw_dihedral(flips: bool, turns: bool, square: bool) -> DihedralOp:
    """A random :class:`DihedralOp` from torch's generator; turns only for a square grid."""
    flip_cols = flips and bool(torch.rand(()) < 0.5)
    flip_rows = flips and bool(torch.rand(()) < 0.5)
    quarter_turns = int(torch.randint(4, ())) if turns and square else 0
    return DihedralOp(flip_cols, flip_rows, quarter_turns)


def transform_field(field: torch.Tensor, op: DihedralOp) -> torch.Tensor:
    """Apply ``op`` to the last two axes (rows, columns) of ``field``."""
    if op.flip_cols:
        field = field.flip(-1)
    if op.flip_rows:
        field = field.flip(-2)
    return field.rot90(op.quarter_turns, (-2, -1)) if op.quarter_turns else field


def untransform_field(field: torch.Tensor, op: DihedralOp) -> torch.Tensor:
    """Undo ``op`` on the last two axes: ``untransform_field(transform_field(x, op), op) == x``."""
    if op.quarter_turns:
        field = field.rot90(-op.quarter_turns, (-2, -1))
    if op.flip_rows:
        field = field.flip(-2)
    return field.flip(-1) if op.flip_cols else field


def transform_vectors(vectors: torch.Tensor, op: DihedralOp) -> torch.Tensor:
    """Apply ``op`` to a displacement field ``(..., 2, H, W)``, channels ``(x, y)``: pixels and components.

    A column flip negates ``x``, a row flip negates ``y``, and one ``rot90`` turn (rows towards
    columns) maps ``(x, y)`` to ``(y, -x)``.
    """
    x, y = vectors.unbind(dim=-3)
    if op.flip_cols:
        x = -x
    if op.flip_rows:
        y = -y
    for _ in range(op.quarter_turns):
        x, y = y, -x
    return transform_field(torch.stack([x, y], dim=-3), op)
