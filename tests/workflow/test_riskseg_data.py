"""The riskseg data stage through the snakemake CLI: scene -> blocked tiles, and real-source checks."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from workflow_helpers import edit_config, load_config

from atmo.io.geotiff import inspect_geotiff, read_geotiff, write_geotiff
from atmo.riskseg import LABEL_NODATA
from atmo.riskseg.synthetic.scene import SyntheticSceneSettings, write_synthetic_scene

pytestmark = pytest.mark.workflow


@pytest.fixture(autouse=True)
def only_riskseg(workflow_dir: Path) -> None:
    """The test config with only this module: the others' rules are not even parsed (faster runs)."""
    edit_config(workflow_dir, lambda config: config.update(modules=["riskseg"]))


TILES = "results/riskseg/tiles/tiles.h5"
SPLITS = ("train", "val", "test")


def _riskseg_config(workflow_dir: Path, **changes) -> dict:
    """Apply ``changes`` to the riskseg block of the test config; return the resulting block."""
    return edit_config(workflow_dir, lambda config: config["riskseg"].update(changes))["riskseg"]


def test_synthetic_scene_to_blocked_tiles(workflow_dir: Path, snakemake_in) -> None:
    snakemake_in(TILES)
    block = load_config(workflow_dir)["riskseg"]
    size, max_nodata = block["tiles"]["tile_size"], block["tiles"].get("max_nodata_fraction", 0.5)

    scene = inspect_geotiff(workflow_dir / "results/riskseg/scene.tif")
    assert scene.crs.is_projected and scene.shape == (block["synthetic"]["height"], block["synthetic"]["width"])
    label = read_geotiff(workflow_dir / "results/riskseg/labels.tif")[0]
    assert np.mean(label[label != LABEL_NODATA] == 1) == pytest.approx(0.0265, abs=0.003)

    summary = json.loads((workflow_dir / "results/riskseg/tiles/summary.json").read_text())
    seen: set[tuple[int, int]] = set()
    with h5py.File(workflow_dir / TILES) as handle:
        for split in SPLITS:
            image, tile_label = handle[f"{split}/image"][:], handle[f"{split}/label"][:]
            origins = set(zip(handle[f"{split}/row"][:].tolist(), handle[f"{split}/col"][:].tolist(), strict=True))
            assert len(origins) == len(image) == summary["splits"][split]["n_tiles"] > 0
            assert not origins & seen, f"{split} shares tiles with another split"
            seen |= origins
            assert image.shape[1:] == (scene.count, size, size) and np.isfinite(image).all()
            assert ((tile_label == LABEL_NODATA).mean(axis=(1, 2)) <= max_nodata).all()
            assert set(np.unique(tile_label)) <= {0, 1, 2, LABEL_NODATA}
            counts = np.bincount(tile_label[tile_label != LABEL_NODATA], minlength=3)
            assert summary["splits"][split]["class_fractions"]["1"] == pytest.approx(counts[1] / counts.sum())
        train = handle["train/image"][:].transpose(1, 0, 2, 3)[:, handle["train/label"][:] != LABEL_NODATA]
        np.testing.assert_allclose(train.mean(axis=1), 0.0, atol=1e-3)
        np.testing.assert_allclose(train.std(axis=1), 1.0, atol=1e-3)
        assert list(handle.attrs["band_names"].astype(str)) == scene.band_names


def _survey_rasters(folder: Path) -> tuple[Path, Path]:
    """A user's pair: the synthetic rasters re-written with other nodata values (0 is not a class here)."""
    folder.mkdir()
    scene, labels = folder / "covariates.tif", folder / "risk.tif"
    small = SyntheticSceneSettings(height=128, width=128, correlation_px=5.0, nodata_blob_radius_px=12.0)
    write_synthetic_scene(scene, labels, small, seed=2)
    info, label = inspect_geotiff(labels), read_geotiff(labels)[0]
    label = np.where(label == LABEL_NODATA, 7, label).astype(np.int16)
    write_geotiff(labels, label, crs=info.crs, transform=info.transform, nodata=7)
    return scene, labels


def test_local_source_passes_the_same_checks_and_reaches_the_tiles(workflow_dir: Path, snakemake_in) -> None:
    _, labels = _survey_rasters(workflow_dir / "survey")
    _riskseg_config(workflow_dir, source="local", local={"scene": "survey/covariates.tif", "labels": "survey/risk.tif"})
    snakemake_in(TILES)
    imported = read_geotiff(workflow_dir / "results/riskseg/labels.tif")[0]
    original = read_geotiff(labels)[0]
    np.testing.assert_array_equal(imported == LABEL_NODATA, original == 7)
    assert inspect_geotiff(workflow_dir / "results/riskseg/labels.tif").nodata == LABEL_NODATA


def test_url_source_downloads_verifies_and_imports(workflow_dir: Path, snakemake_in, tmp_path: Path) -> None:
    # file:// URLs take the same urllib path as https:// ones, so no server is needed here; the
    # HTTP specifics (resume, retries) are tested with atmo.io.download.
    scene, labels = _survey_rasters(tmp_path / "server")
    entries = [
        {"url": source.as_uri(), "path": name, "size": source.stat().st_size,
         "sha256": hashlib.sha256(source.read_bytes()).hexdigest()}
        for source, name in ((scene, "scene.tif"), (labels, "labels.tif"))
    ]  # fmt: skip
    (workflow_dir / "manifest.yaml").write_text(yaml.safe_dump(entries))
    _riskseg_config(workflow_dir, source="url", url={"manifest": "manifest.yaml"})
    snakemake_in(TILES)
    assert (workflow_dir / "resources/riskseg/labels.tif").read_bytes() == labels.read_bytes()
    imported = read_geotiff(workflow_dir / "results/riskseg/labels.tif")[0]
    np.testing.assert_array_equal(imported == LABEL_NODATA, read_geotiff(labels)[0] == 7)


def test_misaligned_local_labels_stop_with_one_line_and_no_output(workflow_dir: Path, snakemake_in) -> None:
    _, labels = _survey_rasters(workflow_dir / "survey")
    info = inspect_geotiff(labels)
    shifted = info.transform @ info.transform.translation(1, 0)
    write_geotiff(labels, read_geotiff(labels), crs=info.crs, transform=shifted, nodata=7)
    _riskseg_config(workflow_dir, source="local", local={"scene": "survey/covariates.tif", "labels": "survey/risk.tif"})

    result = snakemake_in(TILES, check=False)
    assert result.returncode != 0
    log = (workflow_dir / "results/logs/riskseg/riskseg_scene.log").read_text()
    message = [line for line in log.splitlines() if line.startswith("atmo.errors.InputError")]
    assert message == [f"atmo.errors.InputError: survey/risk.tif: transform {tuple(shifted)[:6]} differs from "
                       f"survey/covariates.tif transform {tuple(info.transform)[:6]}"]  # fmt: skip
    assert not (workflow_dir / "results/riskseg/scene.tif").exists()
    assert not (workflow_dir / "results/riskseg/labels.tif").exists()


def test_labels_that_are_not_a_tiff_stop_with_one_line_and_no_traceback(workflow_dir: Path, snakemake_in) -> None:
    _, labels = _survey_rasters(workflow_dir / "survey")
    labels.write_text("risk classes exported as text by mistake\n")
    _riskseg_config(workflow_dir, source="local", local={"scene": "survey/covariates.tif", "labels": "survey/risk.tif"})

    result = snakemake_in(TILES, check=False)
    assert result.returncode != 0
    log = (workflow_dir / "results/logs/riskseg/riskseg_scene.log").read_text()
    errors = [line for line in log.splitlines() if "Error" in line or "Traceback" in line]
    assert len(errors) == 1 and errors[0].startswith("atmo.errors.InputError: survey/risk.tif: not a readable GeoTIFF")
    assert not (workflow_dir / "results/riskseg/labels.tif").exists()
