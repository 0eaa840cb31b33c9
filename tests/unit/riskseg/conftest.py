"""Fixtures for the riskseg tests: small real GeoTIFFs written to tmp_path."""

from __future__ import annotations

from pathlib import Path

import pytest
from riskseg_helpers import SMALL_SCENE

from atmo.riskseg.synthetic.scene import write_synthetic_scene


@pytest.fixture
def scene_pair(tmp_path: Path) -> tuple[Path, Path]:
    """A small synthetic scene and label raster in the standard form."""
    scene, labels = tmp_path / "scene.tif", tmp_path / "labels.tif"
    write_synthetic_scene(scene, labels, SMALL_SCENE, seed=3)
    return scene, labels
