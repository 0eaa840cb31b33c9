"""Multi-scale rain texture: a log-normal random field with a power-law spectrum, advected and evolving.

Why: smooth Gaussian cells are too easy to extrapolate; real radar fields carry structure at every
scale, and the small scales change fastest, so fine detail cannot be forecast far ahead.

Assumptions, with where they come from:

* The texture is ``T = exp(sigma z - sigma^2 / 2)`` (mean 1), with ``z`` a unit-variance Gaussian
  field whose 2-D power spectrum is ``|k|^-beta`` from the domain scale down to 2 km (the 1 km grid's
  Nyquist wavelength). Log-rain fields of radar composites are commonly described by such power laws;
  pysteps, for instance, fits one (or two, around a scale break) to a radar field to generate its
  stochastic noise (``pysteps.noise.fftgenerators.initialize_param_2d_fft_filter``). We use a single
  slope ``BETA = 2.8`` within the 2.5-3.5 range taken here as typical of radar rain fields (the lower
  half, so that scales of a few km keep visible variance): an assumption, not a value measured on
  SEVIR. ``SIGMA_LN = 0.8`` is calibrated with the cell peaks against the VIP share targets.
* Evolution: every Fourier mode follows an AR(1) process (as the cascade levels of STEPS, Seed 2003
  and Bowler et al. 2006, follow autoregressive processes whose memory shortens at smaller scales).
  The lifetime grows linearly with the wavelength, ``tau = lambda / 2 km`` frames (a 2 km feature
  lives one frame, a 20 km one ten), following the qualitative finding of Germann and Zawadzki (2002)
  that the lifetime of radar precipitation patterns grows with their scale; the constant is ours.
* Advection: the whole texture moves with the steering flow's mean wind (a phase shift per frame).
  The field is periodic over the image, so what leaves one side re-enters on the other, by then mostly
  renewed by the AR(1) process (an accepted artefact of the FFT).

Everything is generated at once per event in Fourier space (one batched inverse FFT), float32.
"""

from __future__ import annotations

import numpy as np
from scipy import fft

#: 2-D power spectrum slope of the log texture (assumption, see the module docstring).
BETA = 2.8
#: Standard deviation of the log texture (calibrated with the VIP shares, see atmo.nowcast.synthetic.sevir).
SIGMA_LN = 0.8
#: Wavelength (km) that decorrelates in one frame; the lifetime of wavelength lambda is lambda / this.
DECORRELATION_KM_PER_FRAME = 2.0


def _amplitude(size: int, beta: float) -> np.ndarray:
    """Spectral amplitude ``|k|^(-beta/2)`` on the rfft2 grid ``(size, size // 2 + 1)`` (cycles per
    pixel, rows then columns), zero at the mean (k = 0)."""
    k = np.hypot(fft.fftfreq(size)[:, None], fft.rfftfreq(size)[None, :])
    amplitude = np.zeros_like(k)
    amplitude[k > 0] = k[k > 0] ** (-beta / 2.0)
    return amplitude


def _standardise(field: np.ndarray) -> np.ndarray:
    """Zero mean and unit variance over the whole array (one scalar pair per event, so frames stay comparable)."""
    return ((field - field.mean()) / max(float(field.std()), 1e-12)).astype(np.float32)


def gaussian_field(rng: np.random.Generator, size: int, beta: float = BETA) -> np.ndarray:
    """A static unit-variance Gaussian field ``(size, size)`` with 2-D power spectrum ``|k|^-beta``."""
    noise = rng.standard_normal((size, size // 2 + 1, 2)).view(np.complex128)[..., 0]
    spectrum = _amplitude(size, beta) * noise
    return _standardise(fft.irfft2(spectrum, s=(size, size)))


def evolving_log_field(
    rng: np.random.Generator, size: int, displacement_km: np.ndarray, beta: float = BETA
) -> np.ndarray:
    """Unit-variance Gaussian fields ``(T, size, size)`` with spectrum ``|k|^-beta``, one per frame.

    ``displacement_km (T, 2)`` is the ``(x, y)`` shift from the previous frame (row 0 unused). Each
    mode keeps ``rho = exp(-1 / tau)`` of its (shifted) previous value and gets fresh noise for the rest,
    so every frame has the same spectrum and small scales forget fastest.
    """
    n_frames, rows = len(displacement_km), size // 2 + 1
    ky, kx = fft.fftfreq(size)[:, None], fft.rfftfreq(size)[None, :]
    k = np.hypot(ky, kx)
    wavelength_km = np.divide(1.0, k, out=np.full_like(k, np.inf), where=k > 0)
    rho = np.exp(-DECORRELATION_KM_PER_FRAME / wavelength_km).astype(np.float32)
    amplitude = _amplitude(size, beta).astype(np.float32)
    innovation = np.sqrt(1.0 - rho**2) * amplitude
    noise = rng.standard_normal((n_frames, size, rows, 2), dtype=np.float32).view(np.complex64)[..., 0]
    # the shift by (dx, dy) km is separable: exp(-2 pi i (kx dx + ky dy)) = exp(-2 pi i kx dx) exp(-2 pi i ky dy)
    shift_x = np.exp(-2j * np.pi * kx * displacement_km[:, :1]).astype(np.complex64)  # (T, rows)
    shift_y = np.exp(-2j * np.pi * ky.T * displacement_km[:, 1:]).astype(np.complex64)  # (T, size)
    spectra = noise
    spectra[0] *= amplitude
    for t in range(1, n_frames):
        spectra[t] *= innovation
        spectra[t] += (rho * spectra[t - 1]) * shift_y[t][:, None] * shift_x[t][None, :]
    return _standardise(fft.irfft2(spectra, s=(size, size), axes=(1, 2)))


def rain_texture(rng: np.random.Generator, size: int, displacement_km: np.ndarray) -> np.ndarray:
    """Log-normal multiplier ``(T, size, size)`` float32 with mean 1: ``exp(SIGMA_LN z - SIGMA_LN^2 / 2)``."""
    z = evolving_log_field(rng, size, displacement_km)
    return np.exp(np.float32(SIGMA_LN) * z - np.float32(SIGMA_LN**2 / 2.0))
