"""The time split of a downscale sample set: contiguous train, validation and test blocks.

Neighbouring days share weather systems, so a random split would put one storm in training and
test and overstate skill. The samples are therefore ordered in time and cut into a training
block, then a validation block, then a test block (the latest days), with ``gap_steps`` samples
dropped at each boundary so that no weather system spans two splits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from atmo.errors import InputError
from atmo.settings import settings_block

SPLITS = ("train", "val", "test")


class TimeSplitSettings(settings_block("downscale", "split")):
    """The ``downscale.split`` config block: the keywords of :func:`time_split`."""


@dataclass(frozen=True)
class Split:
    """Sample indices of each split, sorted, disjoint and ordered in time (train < val < test)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray

    def items(self) -> list[tuple[str, np.ndarray]]:
        return [(name, getattr(self, name)) for name in SPLITS]


def time_split(
    time_s: np.ndarray,
    *,
    val_fraction: float,
    test_fraction: float,
    gap_steps: int,
    where: str | os.PathLike[str] = "time",
) -> Split:
    """Contiguous train/val/test blocks in time order, ``gap_steps`` samples dropped between them.

    Indices refer to the order of ``time_s``, which need not be sorted. Raises :class:`InputError`
    (naming ``where``) when a split would be empty.
    """
    n = len(time_s)
    n_test = round(n * test_fraction)
    n_val = round(n * val_fraction)
    n_train = n - n_val - n_test - 2 * gap_steps
    if min(n_train, n_val, n_test) < 1:
        raise InputError(
            where, f"{n} samples are too few for val {val_fraction}, test {test_fraction}, gap {gap_steps}"
        )
    order = np.argsort(time_s, kind="stable")
    val_start = n_train + gap_steps
    test_start = val_start + n_val + gap_steps
    return Split(
        train=np.sort(order[:n_train]),
        val=np.sort(order[val_start : val_start + n_val]),
        test=np.sort(order[test_start:]),
    )
