"""Synthetic nadir camera frames of broken cloud whose shadows are cast by ray geometry.

The renderer builds a 3-D cloud field around the aircraft and projects it onto the ground along the
sun's rays; it shares no code with the shadow estimator (:mod:`atmo.cbh.geometry`), which must infer
heights from these frames. What the projection includes, as over real scenes:

- **cloud bodies**: each cloud pixel is a column from its base to ``base + thickness``; thickness
  grows from the edge to the core (up to the layer's depth), so the shadow's far edge comes from the
  cloud top and the shadow is longer than the base alone would cast. Bases vary from cloud to cloud
  (:data:`~atmo.cbh.synthetic.state.BASE_SPREAD_M`) and follow the hills in part;
- **terrain**: a ground pixel at height ``t`` is shadowed when the ray towards the sun, at any height
  ``z`` inside a cloud, has travelled ``(z - t) * tan(sza)`` horizontally: shadows land closer on
  hills, further in valleys;
- **sun**: zenith and azimuth of the frame; light through a cloud is attenuated with the path length
  inside it (faint shadows from thin edges), plus diffuse sky light;
- **layers**: a second, higher and thinner layer (when the scene has one) casts its own, longer
  shadows and veils the clouds below;
- **frame edges**: the cloud field extends beyond the frame towards the sun by the longest possible
  shadow, so clouds outside the frame cast shadows into it, and shadows of clouds inside the frame
  may fall outside it.

The lowest layer is shifted so that a cloud sits at nadir (the lidar's base). Frames are north-up:
rows run north to south, columns west to east.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.fft import irfft2, next_fast_len, rfft2

from atmo.cbh.synthetic.state import BASE_SPREAD_M
from atmo.cbh.synthetic.terrain import Terrain

#: Shadow darkening: light left after ``m`` metres of cloud is ``exp(-EXTINCTION_PER_M * m)``; the sky
#: adds ``DIFFUSE`` of the clear-sky light everywhere.
EXTINCTION_PER_M = 0.0076
DIFFUSE = 0.3
#: Height levels per layer at which cloud bodies are projected.
LEVELS = 6
#: Correlation length of the cloud-to-cloud base spread inside a layer, m.
BASE_SPREAD_LENGTH_M = 1000.0
#: Fraction of land covered by dark patches (60 % brightness) that mimic shadows.
DARK_PATCH_FRACTION = 0.08


@dataclass(frozen=True)
class CloudLayer:
    """One cloud layer of a frame. Heights are metres above the large-scale surface under the aircraft.

    ``base_m`` is the base of the cloud at nadir (the lowest layer) or the layer's mean base;
    ``depth_m`` the thickest cloud; ``fraction`` the covered share; ``cell_m`` the texture's
    correlation length; ``terrain_following`` the share of the hills the bases follow.
    """

    base_m: float
    depth_m: float
    fraction: float
    cell_m: float
    terrain_following: float


@dataclass(frozen=True)
class FrameScene:
    """Everything one frame shows: sun, ground resolution, layers (lowest first), terrain and surface."""

    sun_zenith_deg: float
    sun_azimuth_deg: float
    gsd_m: float
    layers: tuple[CloudLayer, ...]
    terrain: Terrain
    nadir_east_km: float
    nadir_north_km: float
    surface_brightness: float
    land: bool


def render_frame(rng: np.random.Generator, shape: tuple[int, int, int], scene: FrameScene) -> np.ndarray:
    """One (C, H, W) uint8 frame of ``scene``; see the module docstring for what it renders."""
    channels, height, width = shape
    gsd = scene.gsd_m
    tan_sza = math.tan(math.radians(scene.sun_zenith_deg))
    azimuth = math.radians(scene.sun_azimuth_deg)
    towards_sun = (-math.cos(azimuth), math.sin(azimuth))  # (rows, columns) per pixel of horizontal travel
    relief = float(np.abs(scene.terrain.amp_small).sum())
    highest = max(layer.base_m + layer.depth_m + 4 * BASE_SPREAD_M for layer in scene.layers) + relief
    reach = highest * tan_sza / gsd
    before = [math.ceil(max(-d, 0.0) * reach) + 2 for d in towards_sun]
    after = [math.ceil(max(d, 0.0) * reach) + 2 for d in towards_sun]
    # sizes the FFT factors well (a prime-sized canvas costs ten times more); the extra is more field
    canvas = (next_fast_len(height + before[0] + after[0]), next_fast_len(width + before[1] + after[1], real=True))
    nadir = (before[0] + height // 2, before[1] + width // 2)
    frame = (slice(before[0], before[0] + height), slice(before[1], before[1] + width))

    east_km = scene.nadir_east_km + (np.arange(canvas[1]) - nadir[1]) * gsd / 1000.0
    north_km = scene.nadir_north_km - (np.arange(canvas[0]) - nadir[0]) * gsd / 1000.0
    ground_m = scene.terrain.small_on_grid(east_km, north_km)

    rows, cols = np.mgrid[frame]
    ground = ground_m[frame]
    path_m = np.zeros((height, width))
    bodies = []
    for number, layer in enumerate(scene.layers):
        cloud, base, thickness = _layer(rng, canvas, layer, gsd, ground_m, nadir, at_nadir=number == 0)
        bodies.append((cloud[frame], thickness[frame]))
        top = base + thickness
        low, high = float(base[cloud].min(initial=np.inf)), float(top[cloud].max(initial=-np.inf))
        if not low < high:
            continue
        step = (high - low) / (LEVELS - 1)
        for level in np.linspace(low, high, LEVELS):
            inside = cloud & (base - step / 2 <= level) & (top + step / 2 >= level)
            travel = np.maximum(level - ground, 0.0) * tan_sza / gsd
            source_r = np.clip(np.rint(rows + travel * towards_sun[0]).astype(np.intp), 0, canvas[0] - 1)
            source_c = np.clip(np.rint(cols + travel * towards_sun[1]).astype(np.intp), 0, canvas[1] - 1)
            path_m += inside[source_r, source_c] * step
    light = DIFFUSE + (1.0 - DIFFUSE) * np.exp(-EXTINCTION_PER_M * path_m)

    cos_sza = math.cos(math.radians(scene.sun_zenith_deg))
    gray = _surface(rng, (height, width), scene, scene.layers[0].cell_m / gsd) * light
    cloud_top = 255.0 * (0.55 + 0.4 * cos_sza)
    lower_cloud, lower_thickness = bodies[0]
    gray = np.where(lower_cloud, cloud_top * (0.75 + 0.25 * np.clip(lower_thickness / 300.0, 0.0, 1.0)), gray)
    for cloud, thickness in bodies[1:]:
        opacity = 0.45 + 0.45 * np.clip(thickness / 200.0, 0.0, 1.0)
        gray = np.where(cloud, (1.0 - opacity) * gray + opacity * 0.9 * cloud_top, gray)
    any_cloud = np.logical_or.reduce([cloud for cloud, _ in bodies])
    tint = np.linspace(0.9, 1.1, channels) if scene.land else np.linspace(0.8, 1.2, channels)
    colour = np.where(any_cloud[None], 1.0, tint[:, None, None])
    image = gray[None] * colour + rng.normal(0.0, 2.0, (channels, height, width))
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def _layer(
    rng: np.random.Generator,
    canvas: tuple[int, int],
    layer: CloudLayer,
    gsd: float,
    ground_m: np.ndarray,
    nadir: tuple[int, int],
    at_nadir: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(cloud, base_m, thickness_m)`` on the canvas: where the layer has cloud, each column's base and depth.

    With ``at_nadir`` the (periodic) texture is rolled so that the cloud pixel nearest to nadir lands
    on it, and the base there is exactly ``layer.base_m``.
    """
    texture = gaussian_field(rng, canvas, layer.cell_m / gsd)
    threshold = np.quantile(texture[::2, ::2], 1.0 - layer.fraction)  # every 4th pixel: plenty, 4x cheaper
    if at_nadir:
        cloud_r, cloud_c = np.nonzero(texture > threshold)
        nearest = int(np.argmin((cloud_r - nadir[0]) ** 2 + (cloud_c - nadir[1]) ** 2))
        texture = np.roll(texture, (nadir[0] - cloud_r[nearest], nadir[1] - cloud_c[nearest]), axis=(0, 1))
    excess = texture - threshold
    cloud = excess > 0
    thickness = np.where(cloud, layer.depth_m * np.sqrt(np.clip(excess / 0.8, 0.0, 1.0)), 0.0)
    # the spread varies over a kilometre (a dozen pixels): a field on a 4x coarser grid, repeated, is as good
    coarse = gaussian_field(rng, (-(-canvas[0] // 4), -(-canvas[1] // 4)), BASE_SPREAD_LENGTH_M / gsd / 4)
    spread = BASE_SPREAD_M * np.repeat(np.repeat(coarse, 4, axis=0), 4, axis=1)[: canvas[0], : canvas[1]]
    base = layer.base_m + spread - spread[nadir] + layer.terrain_following * (ground_m - ground_m[nadir])
    return cloud, base, thickness


def _surface(rng: np.random.Generator, shape: tuple[int, int], scene: FrameScene, cell_px: float) -> np.ndarray:
    """(H, W) clear-sky ground brightness: regime brightness, sun, texture and (on land) dark patches."""
    brightness = scene.surface_brightness * math.sqrt(math.cos(math.radians(scene.sun_zenith_deg)))
    ground = brightness * (1.0 + (0.06 if scene.land else 0.03) * gaussian_field(rng, shape, 3.0))
    if scene.land:
        patches = gaussian_field(rng, shape, 2.0 * cell_px)
        ground = ground * np.where(patches > np.quantile(patches, 1.0 - DARK_PATCH_FRACTION), 0.6, 1.0)
    return ground


def gaussian_field(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float) -> np.ndarray:
    """(H, W) periodic Gaussian random field with correlation length ``sigma_px``, zero mean, unit std.

    White noise smoothed by a Gaussian in Fourier space: periodic, so a rolled field is still a field.
    """
    noise = rng.standard_normal(shape, dtype=np.float32)
    scale = -2.0 * (math.pi * sigma_px) ** 2
    kernel = np.outer(np.exp(scale * np.fft.fftfreq(shape[0]) ** 2), np.exp(scale * np.fft.rfftfreq(shape[1]) ** 2))
    field = irfft2(rfft2(noise) * kernel.astype(np.float32), s=shape)
    field -= field.mean()
    std = field.std()
    return field / std if std > 0 else field
