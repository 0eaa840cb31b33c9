"""The CBH data stage through the snakemake CLI: cache content, local source, CDS without credentials."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
from workflow_helpers import edit_config, job_counts, load_config, planned_jobs

from atmo.cbh.cache import read_cache_table
from atmo.cbh.flight_files import read_flight_track
from atmo.cbh.synthetic.flights import CameraSettings, write_synthetic_flight

pytestmark = pytest.mark.workflow


@pytest.fixture(autouse=True)
def only_cbh(workflow_dir: Path) -> None:
    """The test config with only this module: the others' rules are not even parsed (faster runs)."""
    edit_config(workflow_dir, lambda config: config.update(modules=["cbh"]))


CACHE = "results/cbh/cache.h5"


def _edit_cbh_config(workflow_dir: Path, **changes) -> dict:
    """Apply ``changes`` to the cbh block of the test config; return the resulting block."""
    return edit_config(workflow_dir, lambda config: config["cbh"].update(changes))["cbh"]


def test_cache_from_test_config(workflow_dir: Path, snakemake_in) -> None:
    cbh = load_config(workflow_dir)["cbh"]
    snakemake_in(CACHE)
    table = read_cache_table(workflow_dir / CACHE)
    assert table.flights == [f["name"] for f in cbh["flights"]]
    camera = cbh["synthetic"]
    labelled = [round(f["hours"] * 3600 / camera["label_interval_s"]) for f in cbh["flights"]]
    per_label = 1 + camera["unlabelled_per_label"]
    assert np.bincount(table.flight_index).tolist() == [n * per_label for n in labelled]
    assert np.bincount(table.flight_index[np.isfinite(table.cbh_km)]).tolist() == labelled, "NaN: unlabelled"
    assert table.era5_names[:2] == ["t2m", "d2m"] and "lcl_m" in table.era5_names
    assert np.isfinite(table.era5).all()
    lcl_km = table.era5[:, table.era5_names.index("lcl_m")] / 1000
    error_km = np.abs(lcl_km - table.cbh_km)[np.isfinite(table.cbh_km)]
    assert 0.02 < error_km.mean() < 1.0, "ERA5 informs about the base but is no oracle"
    with h5py.File(workflow_dir / CACHE) as f:
        assert f["images"].shape[1:] == (3, cbh["cache"]["image_height"], cbh["cache"]["image_width"])
    for flight in cbh["flights"]:
        assert (workflow_dir / f"results/logs/cbh/cbh_flights/{flight['name']}.log").exists()
        assert (workflow_dir / f"results/benchmarks/cbh/cbh_geometry/{flight['name']}.tsv").exists()


def test_cds_source_without_credentials_fails_with_one_clear_line(
    workflow_dir: Path, snakemake_in, tmp_path: Path
) -> None:
    _edit_cbh_config(workflow_dir, era5={"source": "era5_cds"})
    env = {"HOME": str(tmp_path / "home"), "CDSAPI_URL": "", "CDSAPI_KEY": "", "CDSAPI_RC": ""}
    (tmp_path / "home").mkdir()
    result = snakemake_in("resources/cbh/era5.nc", check=False, env=env)
    assert result.returncode != 0
    log = (workflow_dir / "results/logs/cbh/cbh_era5.log").read_text()
    assert "no Copernicus CDS credentials" in log and "CDSAPI_URL and CDSAPI_KEY" in log
    assert not (workflow_dir / "resources/cbh/era5.nc").exists()


def test_local_source_imports_campaign_files_and_names_a_missing_one(workflow_dir: Path, snakemake_in) -> None:
    local = workflow_dir / "campaign"
    cbh = load_config(workflow_dir)["cbh"]
    camera = CameraSettings(image_height=32, image_width=48, ifov_mrad=10.0)
    flights = cbh["flights"]
    written = [
        write_synthetic_flight(
            local / f"{flight['name']}.h5", flight["name"], index, len(flights), flight["hours"], camera, 3
        ).n_samples
        for index, flight in enumerate(flights[:-1])
    ]
    # a campaign's flights are counted in frames; the last file is never written
    counts = [{"name": flight["name"], "samples": n} for flight, n in zip(flights, [*written, 4], strict=True)]
    _edit_cbh_config(workflow_dir, source="local", local_dir="campaign", flights=counts)
    first = flights[0]["name"]
    snakemake_in(f"resources/cbh/flights/{first}.h5")
    assert read_flight_track(workflow_dir / f"resources/cbh/flights/{first}.h5").n_samples == written[0]

    missing = flights[-1]["name"]
    result = snakemake_in(f"resources/cbh/flights/{missing}.h5", check=False)
    assert result.returncode != 0
    log = (workflow_dir / f"results/logs/cbh/cbh_flights/{missing}.log").read_text()
    assert f"campaign/{missing}.h5: file does not exist" in log
    assert not (workflow_dir / f"resources/cbh/flights/{missing}.h5").exists()


@pytest.mark.parametrize("config", ["config/config.yaml", "config/test.yaml", "config/full.yaml"])
def test_dry_run_plans_every_cbh_rule(workflow_dir: Path, snakemake_in, config: str) -> None:
    """Full uses the local files and the CDS: planning needs neither data nor credentials."""
    flights = [flight["name"] for flight in load_config(workflow_dir, config)["cbh"]["flights"]]
    output = snakemake_in("-n", CACHE, config=config).stdout
    n = len(flights)
    assert job_counts(output) == {"cbh_flights": n, "cbh_era5": 1, "cbh_geometry": n, "cbh_cache": 1}
    jobs = planned_jobs(output)
    for rule in ("cbh_flights", "cbh_geometry"):
        assert sorted(wildcards["flight"] for name, wildcards in jobs if name == rule) == sorted(flights), rule
