"""Shared fixtures for the nowcast model tests: one thread, fixed seed, synthetic storm batches."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence

import pytest
import torch


@pytest.fixture(autouse=True)
def _single_thread_seeded() -> Iterator[None]:
    """The machine is shared: one thread per test, and every test starts from the same seed."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(threads)


def gaussian_blob(size: int, x: float, y: float, sigma: float, peak: float) -> torch.Tensor:
    """``(size, size)`` Gaussian of height ``peak`` centred at column ``x``, row ``y``."""
    coords = torch.arange(size, dtype=torch.float32)
    return peak * torch.exp(-((coords[None, :] - x) ** 2 + (coords[:, None] - y) ** 2) / (2 * sigma**2))


@pytest.fixture
def blob() -> Callable[..., torch.Tensor]:
    """The :func:`gaussian_blob` helper, as a fixture so test modules need not import conftest."""
    return gaussian_blob


StormBatch = Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]


@pytest.fixture
def storm_batch() -> StormBatch:
    """Factory for a batch of storms moving at a constant velocity.

    ``cells_per_sample[b]`` blobs on a jittered lattice (peak 0.8 = code 204, sigma 2 px) move by
    ``velocity_px`` per frame through the VIL channel of ``T_in`` input frames and the ``T_out`` target
    frames; the other channels hold weak noise. Returns ``x (B, T_in, 4, H, W)``, ``y (B, T_out, H, W)``, ``present``
    all True.
    """

    def make(
        cells_per_sample: Sequence[int],
        frames_in: int = 4,
        frames_out: int = 2,
        size: int = 32,
        velocity_px: tuple[float, float] = (1.0, 0.5),
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        generator = torch.Generator().manual_seed(1)
        batch = len(cells_per_sample)
        total = frames_in + frames_out
        vil = torch.zeros(batch, total, size, size)
        for b, n_cells in enumerate(cells_per_sample):
            # a jittered lattice keeps cells apart, so each one stays a separate peak
            per_axis = max(math.ceil(math.sqrt(n_cells)), 1)
            span = size - 12 - total * max(velocity_px)
            step = span / per_axis
            lattice = [(6 + step * (i % per_axis), 6 + step * (i // per_axis)) for i in range(n_cells)]
            jitter = torch.rand(n_cells, 2, generator=generator).tolist()
            for (x0, y0), (jx, jy) in zip(lattice, jitter, strict=True):
                x0, y0 = x0 + jx, y0 + jy
                for t in range(total):
                    blob = gaussian_blob(size, x0 + velocity_px[0] * t, y0 + velocity_px[1] * t, 2.0, 0.8)
                    vil[b, t] = torch.maximum(vil[b, t], blob)
        x = 0.1 * torch.randn(batch, frames_in, 4, size, size, generator=generator)
        x[:, :, 0] = vil[:, :frames_in]
        present = torch.ones(batch, 4, dtype=torch.bool)
        return x, vil[:, frames_in:], present

    return make
