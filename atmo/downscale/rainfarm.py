"""RainFARM stochastic downscaling (Rebora et al. 2006) through ``pysteps.downscaling.rainfarm``.

RainFARM is the field's standard stochastic downscaler that needs no training: it fits the power-law
slope ``alpha`` of the coarse field's spectrum, extrapolates it to the fine scales as a Gaussian random
field, exponentiates that field (log-normal small-scale variability) and multiplies it onto the coarse
field, renormalised so each coarse cell keeps its amount. Each member is one such draw; K members
per test case, the same K as every other ensemble (``downscale.sampling.k``).

Choices, made on principle before any test day was scored:

- ``alpha``: ``None`` estimates the slope from each day's coarse field (the method as published and
  pysteps' default; the downscaler sees only the coarse field), a number fixes it.
- ``kernel``: pysteps' smoothing of the coarse field and of the noise's block means (``gaussian``,
  ``tophat``; ``None`` keeps the coarse cells' edges, a visibly blocky field). Smoothing moves rain
  across coarse-cell edges, so each member is then multiplied, block by block, by ``coarse / block
  mean`` (our addition, as for the mass-consistent bicubic): every member's ``f x f`` block means equal
  the coarse field, as the truth's do by definition.

Determinism: pysteps draws from NumPy's global generator, so each member seeds it from ``(seed, test
case index, member)`` (a :class:`numpy.random.SeedSequence`) and the previous global state is
restored afterwards. The members of a case are thus the same whatever the batching, and the global
state of the caller is left as it was.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from atmo.downscale.coarsen import coarsen
from atmo.pysteps_quiet import pysteps_module

#: Smoothing kernels pysteps offers (``None``: no smoothing).
KERNELS = ("gaussian", "tophat")


@contextmanager
def _global_seed(seed: int) -> Iterator[None]:
    """NumPy's global generator seeded with ``seed`` inside, restored to its previous state after."""
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def member_seeds(seed: int, case: int, k: int) -> np.ndarray:
    """The ``k`` 32-bit seeds of the members of test case ``case`` (its sample index in the fields file)."""
    return np.random.SeedSequence([seed, case]).generate_state(k)


def restore_mass(fine_mm: np.ndarray, coarse_mm: np.ndarray, factor: int) -> np.ndarray:
    """``fine_mm (..., H, W)`` multiplied per ``f x f`` block so its block means equal ``coarse_mm (..., h, w)``.

    A wet coarse cell whose block came out dry (which smoothing can leave) gets its coarse value
    everywhere; a dry one stays dry.
    """
    fine = np.asarray(fine_mm, np.float64)
    target = np.broadcast_to(np.asarray(coarse_mm, np.float64), fine.shape[:-2] + coarse_mm.shape[-2:])
    means = coarsen(fine, factor).astype(np.float64)
    ratio = np.divide(target, means, out=np.zeros_like(means), where=means > 0)
    flat = (means <= 0) & (target > 0)
    ones = np.ones((factor, factor))
    out = fine * np.kron(ratio, ones)
    return np.where(np.kron(flat, ones) > 0, np.kron(target, ones), out)


def rainfarm_members(
    coarse_mm: np.ndarray,
    factor: int,
    k: int,
    *,
    seed: int,
    case: int,
    alpha: float | None = None,
    kernel: str | None = "gaussian",
) -> np.ndarray:
    """``k`` RainFARM members ``(K, H, W)`` float32 mm of one coarse field ``coarse_mm (h, w)``.

    ``case`` (the test case's sample index) and ``seed`` fix the draws (module docstring); ``alpha``
    and ``kernel`` as in the module docstring. An all-dry coarse field gives dry members.
    """
    if kernel is not None and kernel not in KERNELS:
        raise ValueError(f"unknown RainFARM kernel {kernel!r}; known: {list(KERNELS)} or None")
    coarse = np.asarray(coarse_mm, np.float64)
    height, width = coarse.shape[0] * factor, coarse.shape[1] * factor
    if not np.any(coarse > 0):
        return np.zeros((k, height, width), np.float32)
    members = np.empty((k, height, width))
    for m, member_seed in enumerate(member_seeds(seed, case, k)):
        # pysteps takes the log of zero power when it estimates alpha: warnings, not errors
        with _global_seed(int(member_seed)), warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            members[m] = pysteps_module("downscaling.rainfarm").downscale(
                coarse, factor, alpha=alpha, kernel_type=kernel
            )
    return restore_mass(np.nan_to_num(np.clip(members, 0.0, None)), coarse, factor).astype(np.float32)
