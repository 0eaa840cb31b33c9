"""Reference downscalers a cVAE must beat: bicubic interpolation, deterministic and with noise, and RainFARM.

- ``bicubic`` (K = 1): the coarse precipitation ``precip_lr_mm`` interpolated bicubically to the
  fine grid (``torch.nn.functional.interpolate(mode="bicubic", align_corners=False)``, cell centres
  aligned, edges replicated), clipped at 0 mm, then made *mass-consistent* by default: each
  ``f x f`` block is multiplied by ``coarse / block mean`` so that coarsening the result gives the
  input back (a block whose interpolation clipped to all zeros while its coarse value is wet gets
  the coarse value everywhere). Multiplying keeps it non-negative, where an additive correction
  would not. It is the smooth, storm-free answer; its CRPS is its MAE.
- ``bicubic_noise`` (K members): bicubic plus noise matched to the training residuals, so that
  CRPS, rank histogram and spread-skill have a non-trivial reference. On the training split the
  residuals ``r = y - b`` (truth minus bicubic, mm) are grouped into ``n_bins`` intensity bins of
  the bicubic value ``b`` (bin edges: quantiles of the training ``b``, duplicates merged, so all
  the exactly-dry ``b = 0`` pixels share one bin). A member's pixel is ``max(0, b + r)`` with ``r``
  drawn independently per pixel and member from the residuals of its bin. Its marginal
  distribution per intensity therefore matches the training truth's (up to the clip at 0, which
  makes it slightly wet-biased); its noise is white, so it has too much small-scale power in the
  spectrum and is not mass-consistent — a reference for calibration, not for texture.
- ``rainfarm`` (K members): RainFARM stochastic downscaling (:mod:`atmo.downscale.rainfarm`), the
  field's standard untrained downscaler: a log-normal small-scale field with the coarse field's own
  power-law slope, renormalised so every member keeps each coarse cell's amount.

The posterior-mean reference, ``decode(mu)``, comes from a model:
:func:`atmo.downscale.sampling.sample_checkpoint` with ``mode="posterior_mean"``. All of them write
the layout of :mod:`atmo.downscale.sample_files`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from atmo.downscale.coarsen import coarsen
from atmo.downscale.field_files import read_fields, read_split
from atmo.downscale.products import BASELINES
from atmo.downscale.rainfarm import rainfarm_members
from atmo.downscale.sample_files import reference_samples_writer
from atmo.settings import settings_block

log = logging.getLogger(__name__)

#: The baselines with K members (``downscale.sampling.k``, the K of every ensemble).
ENSEMBLE_BASELINES = ("bicubic_noise", "rainfarm")
# Test cases interpolated (and given noise) at a time, bounding the memory of K members in float64.
_CASES_PER_WRITE = 16


class BaselineSettings(settings_block("downscale", "baselines")):
    """The ``downscale.baselines`` block: keywords of :func:`write_baseline` (``k`` is the sampling's)."""


def bicubic_mm(precip_lr_mm: np.ndarray, factor: int, mass_consistent: bool = True) -> np.ndarray:
    """Bicubic upsampling of ``precip_lr_mm (N, h, w)`` to ``(N, h f, w f)`` mm, >= 0 (module docstring)."""
    lr = np.asarray(precip_lr_mm, dtype=np.float32)
    up = F.interpolate(torch.from_numpy(lr)[:, None], scale_factor=factor, mode="bicubic", align_corners=False)
    fine = up[:, 0].clamp(min=0.0).numpy().astype(np.float64)
    if not mass_consistent:
        return fine.astype(np.float32)
    means = coarsen(fine, factor).astype(np.float64)
    ratio = np.divide(lr, means, out=np.zeros_like(means), where=means > 0)
    fine *= np.kron(ratio, np.ones((factor, factor)))
    flat = (means <= 0) & (lr > 0)
    if flat.any():
        fine = np.where(np.kron(flat, np.ones((factor, factor))) > 0, np.kron(lr, np.ones((factor, factor))), fine)
    return fine.astype(np.float32)


@dataclass(frozen=True)
class ResidualNoise:
    """Training residuals ``y - bicubic`` per bin of the bicubic value (see the module docstring).

    ``edges`` (mm, increasing) split the bicubic values into ``len(edges) + 1`` bins, bin ``j`` holding
    ``edges[j-1] < b <= edges[j]`` (so exact zeros fall in bin 0 when an edge is 0); ``pools[j]`` holds (a
    random subset of) the residuals of bin ``j``, mm.
    """

    edges: np.ndarray
    pools: tuple[np.ndarray, ...]

    @classmethod
    def fit(
        cls,
        bicubic_train_mm: np.ndarray,
        truth_train_mm: np.ndarray,
        n_bins: int,
        max_per_bin: int,
        rng: np.random.Generator,
    ) -> ResidualNoise:
        """Bin edges and residual pools from the training fields (same shape ``(N, H, W)``)."""
        b = np.asarray(bicubic_train_mm, np.float64).ravel()
        r = np.asarray(truth_train_mm, np.float64).ravel() - b
        edges = np.unique(np.quantile(b, np.linspace(0.0, 1.0, n_bins + 1)[1:-1]))
        bins = np.searchsorted(edges, b, side="left")
        pools: list[np.ndarray | None] = []
        for j in range(edges.size + 1):
            pool = r[bins == j]
            if pool.size > max_per_bin:
                pool = rng.choice(pool, size=max_per_bin, replace=False)
            pools.append(pool if pool.size else None)
        filled = [j for j, pool in enumerate(pools) if pool is not None]
        # An edge at the minimum or maximum of b leaves an outer bin empty: it borrows its nearest neighbour's.
        pools = [
            pool if pool is not None else pools[min(filled, key=lambda f: abs(f - j))] for j, pool in enumerate(pools)
        ]
        return cls(edges, tuple(pools))

    def sample(self, bicubic_mm_: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` noisy members of ``bicubic (N, H, W)``: ``(N, K, H, W)`` float32 mm, clipped at 0."""
        b = np.asarray(bicubic_mm_, np.float64)
        bins = np.searchsorted(self.edges, b, side="left")
        out = np.repeat(b[:, None], k, axis=1)
        for j, pool in enumerate(self.pools):
            where = np.nonzero(bins == j)
            if where[0].size:
                draws = pool[rng.integers(0, pool.size, size=(where[0].size, k))]  # (pixels, K)
                out[where[0], :, where[1], where[2]] += draws
        return np.clip(out, 0.0, None).astype(np.float32)


def write_baseline(
    *,
    fields: str | os.PathLike[str],
    method: str,
    out_path: str | os.PathLike[str],
    k: int = 1,
    seed: int = 0,
    mass_consistent: bool = True,
    n_bins: int = 10,
    max_residuals_per_bin: int = 100_000,
    rainfarm_alpha: float | None = None,
    rainfarm_kernel: str | None = "gaussian",
) -> None:
    """Write baseline ``method`` (one of :data:`BASELINES`) on the test split of ``fields`` to ``out_path``.

    ``bicubic`` writes K = 1 whatever ``k``; ``bicubic_noise`` writes ``k`` members (>= 2), its noise
    fitted on the training split only and drawn from ``numpy.random.default_rng(seed)``; ``rainfarm``
    writes ``k`` members, each seeded from ``(seed, test case, member)``.
    """
    if method not in BASELINES:
        raise ValueError(f"unknown downscale baseline {method!r}; known: {list(BASELINES)}")
    if method in ENSEMBLE_BASELINES and k < 2:
        raise ValueError(f"{method} needs k >= 2 members, got {k}")
    where = os.fspath(fields)
    data, split = read_fields(where), read_split(where)
    test = split.test
    rng = np.random.default_rng(seed)
    noise = None
    if method == "bicubic_noise":
        base_train = bicubic_mm(data.precip_lr_mm[split.train], data.factor, mass_consistent)
        noise = ResidualNoise.fit(base_train, data.precip_hr_mm[split.train], n_bins, max_residuals_per_bin, rng)
    n_members = 1 if method == "bicubic" else k
    with reference_samples_writer(out_path, data, test, name=method, k=n_members, seed=seed, fields=where) as writer:
        for start in range(0, len(test), _CASES_PER_WRITE):
            rows = test[start : start + _CASES_PER_WRITE]
            coarse = data.precip_lr_mm[rows]
            if method == "rainfarm":
                members = np.stack(
                    [
                        rainfarm_members(
                            c, data.factor, k, seed=seed, case=int(i), alpha=rainfarm_alpha, kernel=rainfarm_kernel
                        )
                        for c, i in zip(coarse, rows, strict=True)
                    ]
                )
            else:
                base = bicubic_mm(coarse, data.factor, mass_consistent)
                members = base[:, None] if noise is None else noise.sample(base, k, rng)
            writer.write(members, data.precip_hr_mm[rows], data.precip_lr_mm[rows])
    log.info("wrote %s baseline (%d member(s)) of %d test cases to %s", method, n_members, len(test), out_path)
