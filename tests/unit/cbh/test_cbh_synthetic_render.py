"""The renderer's shadow geometry, checked by hand: offsets from height, depth, terrain; frame edges; layers."""

from __future__ import annotations

import dataclasses

import numpy as np

from atmo.cbh.synthetic.render import CloudLayer, FrameScene, render_frame
from atmo.cbh.synthetic.terrain import Terrain

SHAPE = (3, 96, 128)
GSD_M = 50.0


def _plateau(height_m: float) -> Terrain:
    """Ground at ``height_m`` everywhere: one small-scale 'wave' of wavenumber zero."""
    zero = np.zeros(1)
    return Terrain(0.0, np.zeros((1, 2)), zero, zero, np.zeros((1, 2)), np.array([height_m]), zero)


def _scene(*layers: CloudLayer, ground_m: float = 0.0, zenith: float = 45.0) -> FrameScene:
    """Sun due south: shadows fall due north of their clouds (up the frame)."""
    return FrameScene(
        sun_zenith_deg=zenith,
        sun_azimuth_deg=180.0,
        gsd_m=GSD_M,
        layers=layers,
        terrain=_plateau(ground_m),
        nadir_east_km=0.0,
        nadir_north_km=0.0,
        surface_brightness=80.0,
        land=False,
    )


def _layer(base_m: float, depth_m: float = 300.0, **changes) -> CloudLayer:
    layer = CloudLayer(base_m=base_m, depth_m=depth_m, fraction=0.2, cell_m=500.0, terrain_following=0.0)
    return dataclasses.replace(layer, **changes)


def _between(offset_px: int, low_m: float, high_m: float, tan_zenith: float = 1.0) -> bool:
    """Whether the offset lies between those the cloud base and the cloud top cast (+- 1 px)."""
    return low_m * tan_zenith / GSD_M - 1 <= offset_px <= high_m * tan_zenith / GSD_M + 1


def _masks(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    gray = image.astype(float).mean(axis=0)
    reference = np.median(gray)
    return gray > 1.4 * reference, gray < 0.7 * reference


def _shadow_offset_px(images: list[np.ndarray]) -> int:
    """Rows north of the clouds at which their shifted masks best overlap the dark pixels (summed over frames)."""
    scores = np.zeros(80)
    for image in images:
        cloud, dark = _masks(image)
        for rows in range(1, scores.size):
            moved = np.zeros_like(cloud)
            moved[:-rows] = cloud[rows:]
            projected = moved & ~cloud
            scores[rows] += (projected & dark).sum() / max((projected | dark).sum(), 1)
    return int(np.argmax(scores))


def _render(scene: FrameScene, n: int = 4) -> list[np.ndarray]:
    return [render_frame(np.random.default_rng(seed), SHAPE, scene) for seed in range(n)]


def test_shadows_fall_at_height_times_tan_zenith() -> None:
    """Cloud bodies 300 m deep: the best overlap lies between what base and top cast."""
    assert _between(_shadow_offset_px(_render(_scene(_layer(1000.0)))), 1000.0, 1300.0)
    assert _between(_shadow_offset_px(_render(_scene(_layer(1500.0)))), 1500.0, 1800.0)
    # a lower sun: tan(60 deg) = 1.73 times further
    assert _between(_shadow_offset_px(_render(_scene(_layer(700.0), zenith=60.0))), 700.0, 1000.0, np.sqrt(3))


def test_deep_clouds_cast_longer_shadows_and_high_ground_shortens_them() -> None:
    thin, deep = (
        np.mean([_masks(i)[1].mean() for i in _render(_scene(_layer(1000.0, depth_m=d)))]) for d in (150, 900)
    )
    assert deep > 1.25 * thin, "the cores' tops cast shadow further than the base: longer shadows"
    assert _masks(_render(_scene(_layer(1000.0, depth_m=10.0)))[0])[1].mean() < 0.01, "a thin veil: no dark shadow"
    # the same clouds over ground 400 m higher (bases not following it): (1000 - 400) m of height
    assert _between(_shadow_offset_px(_render(_scene(_layer(1000.0), ground_m=400.0))), 600.0, 900.0)


def test_a_cloud_sits_at_nadir() -> None:
    for image in _render(_scene(_layer(800.0, fraction=0.1)), n=6):
        cloud, _ = _masks(image)
        assert cloud[SHAPE[1] // 2, SHAPE[2] // 2]


def test_clouds_beyond_the_frame_cast_shadows_into_it() -> None:
    """Shadows in the southern strip come from clouds south of the frame (40 px off its edge)."""
    offset = round(2000.0 / GSD_M)
    strip, rest = [], []
    for image in _render(_scene(_layer(2000.0)), n=6):
        _, dark = _masks(image)
        strip.append(dark[-offset:].mean())
        rest.append(dark[:-offset].mean())
    assert np.mean(strip) > 0.5 * np.mean(rest) > 0


def test_a_second_higher_layer_casts_its_own_longer_shadows() -> None:
    lower = _layer(600.0)
    single = _render(_scene(lower))
    double = _render(_scene(lower, _layer(3000.0, depth_m=250.0, fraction=0.15, cell_m=300.0)))
    extra = [(_masks(b)[1] & ~_masks(a)[1]).sum() for a, b in zip(single, double, strict=True)]
    assert min(extra) > 0.01 * SHAPE[1] * SHAPE[2]
