"""Radially averaged power spectra of 2-D fields and the log-spectral distance between two spectra.

A downscaling model can match pixel statistics while getting the spatial texture wrong: a blurry
decoder loses power at high wavenumbers, a noisy one adds it. The radially averaged power spectral
density (RAPSD) shows this per scale (Harris et al. 2022, CorrDiff), and the log-spectral distance
(LSD) sums it into one number in dB.

Power of a field ``f`` of ``H x W`` pixels: ``P(ky, kx) = |FFT2(f)(ky, kx)|^2 / (H W)`` (so white noise of
variance s^2 has ``E P = s^2`` at every wavenumber). With ``L = max(H, W)`` the integer FFT indices are
scaled to cycles per ``L`` pixels, ``r = round(sqrt((ky L / H)^2 + (kx L / W)^2))``, and ``P`` is averaged
over each ring ``r = 1 .. (L - 1) // 2`` (the DC term ``r = 0`` is excluded: it is the domain mean, not
texture). For a square field this is pysteps' ``rapsd``, minus its DC bin. The ring ``r`` has wavenumber
``r / L`` cycles per pixel (``r`` cycles per domain side ``L``; wavelength ``L / r`` pixels). Spectra of
several fields are averaged (the mean of the spectra, not the spectrum of the mean field).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def _ring_labels(h: int, w: int) -> tuple[np.ndarray, int]:
    """Integer ring radius of every FFT coefficient of an ``h x w`` field, and the largest ring kept."""
    if min(h, w) < 3:
        raise ValueError(f"fields must be at least 3 x 3 pixels for a spectrum, got {h} x {w}")
    size = max(h, w)
    ky = np.fft.fftfreq(h) * size  # = FFT index * size / h
    kx = np.fft.fftfreq(w) * size
    radius = np.rint(np.sqrt(ky[:, None] ** 2 + kx[None, :] ** 2)).astype(np.int64)
    return radius, (size - 1) // 2


def _as_fields(fields: ArrayLike) -> np.ndarray:
    """Finite float64 fields of shape ``(..., H, W)``."""
    a = np.asarray(fields, dtype=np.float64)
    if a.ndim < 2:
        raise ValueError(f"fields must have shape (..., H, W), got {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("fields contain NaN or infinite values")
    return a


class RAPSDAccumulator:
    """Mean RAPSD of many fields of one size, streamed over batches."""

    def __init__(self) -> None:
        self.shape: tuple[int, int] | None = None
        self.sum_power: np.ndarray | None = None  # (H, W): sum over fields of P
        self.count = 0

    def update(self, fields: ArrayLike) -> None:
        """Add fields of shape ``(..., H, W)`` (e.g. truth ``(N, H, W)`` or an ensemble ``(N, K, H, W)``)."""
        a = _as_fields(fields)
        h, w = a.shape[-2:]
        if self.shape is not None and self.shape != (h, w):
            raise ValueError(f"every batch must have fields of one size; got {h} x {w} after {self.shape}")
        self.shape = (h, w)
        a = a.reshape(-1, h, w)
        power = np.square(np.abs(np.fft.fft2(a))).sum(axis=0) / (h * w)
        self.sum_power = power if self.sum_power is None else self.sum_power + power
        self.count += a.shape[0]

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(wavenumber, power)``: wavenumber in cycles per pixel ``r / L``, power the mean ring mean."""
        if self.sum_power is None or self.shape is None:
            raise ValueError("no field has been added to the spectrum")
        radius, r_max = _ring_labels(*self.shape)
        mean_power = self.sum_power / self.count
        ring_sum = np.bincount(radius.ravel(), weights=mean_power.ravel(), minlength=r_max + 1)
        ring_count = np.bincount(radius.ravel(), minlength=r_max + 1)
        rings = np.arange(1, r_max + 1)
        return rings / max(self.shape), ring_sum[rings] / ring_count[rings]


def rapsd(fields: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Radially averaged power spectral density of ``fields (..., H, W)``, averaged over all leading axes.

    Returns ``(wavenumber, power)``, both of shape ``((max(H, W) - 1) // 2,)``: wavenumber ``r / L`` in
    cycles per pixel for rings ``r = 1, 2, ...`` (multiply by ``L = max(H, W)`` for cycles per domain),
    and the mean of ``|FFT2|^2 / (H W)`` over each ring and over the fields. The formula is in the module
    docstring. Plot on log-log axes; compare two with :func:`log_spectral_distance`.
    """
    acc = RAPSDAccumulator()
    acc.update(fields)
    return acc.result()


def log_spectral_distance(psd_a: ArrayLike, psd_b: ArrayLike) -> float:
    """Log-spectral distance in dB between two power spectra of equal shape (e.g. :func:`rapsd` powers).

        LSD = sqrt( mean_k (10 log10(a_k / b_k))^2 )

    Symmetric, 0 only for equal spectra, and 10 dB for spectra a factor of 10 apart at every wavenumber.
    Working in log power weights every scale alike, where a plain difference would be dominated by the
    energetic large scales. Powers must be positive: a spectrum with a zero ring (a constant field) has
    no defined log.
    """
    a = np.asarray(psd_a, dtype=np.float64)
    b = np.asarray(psd_b, dtype=np.float64)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"spectra must be non-empty and of equal shape, got {a.shape} and {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all() and (a > 0).all() and (b > 0).all()):
        raise ValueError("spectra must be finite and positive at every wavenumber (log of zero power)")
    return float(np.sqrt(np.mean(np.square(10.0 * np.log10(a / b)))))


def spectral_slope(
    wavenumber: ArrayLike, power: ArrayLike, min_wavelength_px: float = 4.0, max_wavelength_px: float = 32.0
) -> float:
    """Least-squares slope of ``log power`` against ``log wavenumber`` over wavelengths in ``[min, max]`` pixels.

    The slope of a power law ``P ~ k^slope`` (about -2.5 to -3.5 for radar rain-rate fields). The default
    range leaves out the largest scales (a few rings, dominated by the domain) and the two- to
    four-pixel scales where grid effects (thresholds, aliasing) flatten the spectrum. ``ValueError`` when
    fewer than three rings with positive power fall in the range.
    """
    k = np.asarray(wavenumber, dtype=np.float64)
    p = np.asarray(power, dtype=np.float64)
    with np.errstate(divide="ignore"):
        wavelength = 1.0 / k
    keep = (wavelength >= min_wavelength_px) & (wavelength <= max_wavelength_px) & (p > 0)
    if keep.sum() < 3:
        raise ValueError(
            f"fewer than 3 rings with positive power between wavelengths {min_wavelength_px} and {max_wavelength_px} px"
        )
    return float(np.polyfit(np.log(k[keep]), np.log(p[keep]), 1)[0])
