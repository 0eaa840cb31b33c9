"""The downscale data stage through the snakemake CLI: synthetic, downloaded and bad local sources."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np
import pytest
from downscale_helpers import time_subset
from local_http import serve_directory
from workflow_helpers import edit_config, load_config

from atmo.downscale.field_files import read_fields, read_split, write_fields
from atmo.downscale.synthetic.fields import SyntheticDownscaleSettings, generate_fields
from atmo.io.download import ManifestEntry, write_manifest

pytestmark = pytest.mark.workflow

FIELDS = "results/downscale/fields.h5"
SOURCE_CONFIG = "config/source.yaml"
ONLY_DOWNSCALE = "modules=[downscale]"


def _set_source(workflow_dir: Path, **block: object) -> str:
    """Write config/source.yaml: the test config with the downscale block updated by ``block``."""
    shutil.copyfile(workflow_dir / "config/test.yaml", workflow_dir / SOURCE_CONFIG)
    edit_config(workflow_dir, lambda config: config["downscale"].update(block), SOURCE_CONFIG)
    return SOURCE_CONFIG


def _synthetic_settings(workflow_dir: Path) -> dict:
    """The test config's generator settings completed by the schema defaults."""
    return dataclasses.asdict(SyntheticDownscaleSettings(**load_config(workflow_dir)["downscale"]["synthetic"]))


def test_synthetic_fields_match_the_test_config(workflow_dir: Path, snakemake_in) -> None:
    snakemake_in(FIELDS, "--config", ONLY_DOWNSCALE)
    cfg = load_config(workflow_dir)["downscale"]
    syn, split_cfg = cfg["synthetic"], cfg["split"]
    fields = read_fields(workflow_dir / FIELDS)
    n, f = syn["n_samples"], syn["factor"]
    assert fields.precip_hr_mm.shape == (n, syn["height"], syn["width"])
    assert fields.predictors_lr.shape[2:] == (syn["height"] // f, syn["width"] // f) and fields.factor == f
    split = read_split(workflow_dir / FIELDS)
    n_val, n_test = round(n * split_cfg["val_fraction"]), round(n * split_cfg["test_fraction"])
    assert (len(split.val), len(split.test)) == (n_val, n_test)
    assert len(split.train) == n - n_val - n_test - 2 * split_cfg["gap_steps"]
    assert 0.3 < np.mean(fields.precip_hr_mm == 0) < 0.8 and fields.precip_hr_mm.max() > 10

    summary = json.loads((workflow_dir / "results/downscale/fields.json").read_text())
    assert summary["predictors"] == list(fields.predictor_names)
    for name, indices in split.items():
        assert summary[name]["n_samples"] == len(indices)
        assert summary[name]["max_mm"] == pytest.approx(float(fields.precip_hr_mm[indices].max()))
    assert "generated 40 synthetic days" in (workflow_dir / "results/logs/downscale/downscale_fields.log").read_text()
    assert (workflow_dir / "results/benchmarks/downscale/downscale_fields.tsv").exists()


@pytest.fixture
def archive_server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A plain HTTP server on 127.0.0.1 serving the files of a temporary directory."""
    with serve_directory(tmp_path / "served") as url:
        yield url, tmp_path / "served"


def test_url_source_downloads_verifies_and_joins_the_archive(workflow_dir: Path, snakemake_in, archive_server) -> None:
    base, root = archive_server
    archive = generate_fields(seed=5, **{**_synthetic_settings(workflow_dir), "n_samples": 30})
    entries = []
    for name, part in (("2001b.h5", slice(15, None)), ("2001a.h5", slice(None, 15))):
        write_fields(root / name, time_subset(archive, part))
        data = (root / name).read_bytes()
        entries.append(ManifestEntry(f"{base}/{name}", f"years/{name}", len(data), hashlib.sha256(data).hexdigest()))
    write_manifest(workflow_dir / "manifest.yaml", entries)
    config = _set_source(workflow_dir, source="url", url={"manifest": "manifest.yaml", "backoff_s": 0})

    snakemake_in(FIELDS, "--config", ONLY_DOWNSCALE, config=config)
    assert (workflow_dir / "resources/downscale/raw/years/2001a.h5").read_bytes() == (root / "2001a.h5").read_bytes()
    fields = read_fields(workflow_dir / FIELDS)
    np.testing.assert_array_equal(fields.precip_hr_mm, archive.precip_hr_mm)
    np.testing.assert_array_equal(fields.time_s, archive.time_s)
    assert len(read_split(workflow_dir / FIELDS).test) == 6


def test_foreign_local_file_fails_with_one_line_and_no_output(workflow_dir: Path, snakemake_in) -> None:
    foreign = workflow_dir / "foreign.h5"
    with h5py.File(foreign, "w") as out:
        out["temperature"] = np.zeros((4, 8, 8), np.float32)
    config = _set_source(workflow_dir, source="local", local={"paths": ["foreign.h5"]})
    result = snakemake_in(FIELDS, "--config", ONLY_DOWNSCALE, config=config, check=False)
    assert result.returncode != 0
    log = (workflow_dir / "results/logs/downscale/downscale_fields.log").read_text()
    errors = [line for line in log.splitlines() if line.startswith("atmo.errors.InputError")]
    assert errors == ["atmo.errors.InputError: foreign.h5: missing dataset 'precip_hr_mm'"]
    assert not any((workflow_dir / "results/downscale").glob("*")), "no output, not even a temporary file"


def test_missing_local_file_stops_before_any_job(workflow_dir: Path, snakemake_in) -> None:
    config = _set_source(workflow_dir, source="local", local={"paths": ["archive/missing.h5"]})
    result = snakemake_in(FIELDS, "--config", ONLY_DOWNSCALE, config=config, check=False)
    assert result.returncode != 0
    assert "archive/missing.h5" in result.stdout + result.stderr
    assert not (workflow_dir / "results/downscale").exists()
