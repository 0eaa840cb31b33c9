"""The nowcast data stage through the snakemake CLI: catalog -> fetch -> split -> caches."""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from local_http import silent_server
from workflow_helpers import edit_config, load_config

from atmo.nowcast.cache import CacheConfig
from atmo.nowcast.sevir_files import MODALITIES, data_file_names, read_catalog, write_catalog
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, synthetic_catalog, write_synthetic_file
from atmo.nowcast.volume import expected_volume
from atmo.settings import build_block

pytestmark = pytest.mark.workflow


@pytest.fixture(autouse=True)
def only_nowcast(workflow_dir: Path) -> None:
    """The test config with only this module: the others' rules are not even parsed (faster runs)."""
    edit_config(workflow_dir, lambda config: config.update(modules=["nowcast"]))


SPLITS = ("train", "val", "test")
CACHES = [f"results/nowcast/cache/{split}.h5" for split in SPLITS]


def _nowcast_config(workflow_dir: Path, **changes) -> dict:
    """Apply ``changes`` to the nowcast block of the test config; return the resulting block."""
    return edit_config(workflow_dir, lambda config: config["nowcast"].update(changes))["nowcast"]


def test_synthetic_sevir_to_caches(workflow_dir: Path, snakemake_in) -> None:
    snakemake_in(*CACHES)
    block = load_config(workflow_dir)["nowcast"]
    grid, t_in, t_out = (block["cache"][k] for k in ("grid_size", "frames_in", "frames_out"))
    catalog = read_catalog(workflow_dir / "results/nowcast/catalog.csv")
    have = catalog.groupby("id")["img_type"].agg(set)
    assert catalog["id"].nunique() == block["synthetic"]["n_events"]
    # resources/ mirrors SEVIR's layout
    sevir = workflow_dir / "resources/nowcast/sevir"
    assert all((sevir / "data" / name).is_file() for name in catalog["file_name"].unique())

    split = pd.read_csv(workflow_dir / "results/nowcast/split.csv")
    assert split["id"].is_unique and set(split["split"]) == set(SPLITS)
    seen: dict[str, str] = {}
    for name in SPLITS:
        with h5py.File(workflow_dir / f"results/nowcast/cache/{name}.h5") as h:
            n = h["x"].shape[0]
            assert h["x"].shape == (n, t_in, 4, grid, grid) and h["y"].shape == (n, t_out, grid, grid)
            x, y, present = h["x"][()].astype(np.float32), h["y"][()].astype(np.float32), h["present"][()]
            ids = [e.decode() for e in h["event_id"][()]]
        assert n == 3 * len(set(ids)) and np.isfinite(x).all()
        assert y.min() >= 0 and y.max() <= 1 and y.max() > 0.5  # storms reach high VIL
        assert x[:, :, 0].min() >= 0 and x[:, :, 0].max() <= 1
        assert x[:, :, 1:3].min() > -6 and x[:, :, 1:3].max() < 6  # normalised IR
        assert x[:, :, 3].min() >= -0.05  # lightning counts (normalised)
        assert set(ids) == set(split.loc[split["split"] == name, "id"])
        for k, event_id in enumerate(ids):
            assert present[k].tolist() == [m in have[event_id] for m in MODALITIES]
            assert seen.setdefault(event_id, name) == name, f"{event_id} is in two splits"
        summary = json.loads((workflow_dir / f"results/nowcast/cache/{name}.json").read_text())
        assert summary["samples"] == n
    assert len(seen) == block["synthetic"]["n_events"]
    assert not all(all(flags) for flags in have.map(lambda s: [m in s for m in MODALITIES]))
    assert "present=False" in (workflow_dir / "results/logs/nowcast/nowcast_cache/train.log").read_text() + "".join(
        (workflow_dir / f"results/logs/nowcast/nowcast_cache/{s}.log").read_text() for s in ("val", "test")
    )


def test_local_source_links_files_in_place(workflow_dir: Path, snakemake_in, tmp_path: Path) -> None:
    local = tmp_path / "shared_sevir"  # as a cluster keeps SEVIR on shared storage
    cfg = SyntheticSevirConfig(n_events=6, image_size=32, seed=5)
    catalog = synthetic_catalog(cfg)
    write_catalog(local / "CATALOG.csv", catalog)
    for name in data_file_names(catalog):
        write_synthetic_file(catalog, name, local / "data" / name, cfg)
    block = _nowcast_config(workflow_dir, source="sevir_local", sevir={"local_dir": str(local)})
    result = snakemake_in("results/nowcast/cache/test.h5")
    # the catalog checkpoint said what the fetch jobs after it would bring, and what the caches take
    expected = expected_volume(catalog, catalog, build_block(CacheConfig, block["cache"], "nowcast.cache"))
    assert expected.files == len(data_file_names(catalog)) and expected.download_bytes > 0
    assert expected.describe() in (workflow_dir / "results/logs/nowcast/nowcast_catalog.log").read_text()
    assert expected.describe() in result.stdout
    data = workflow_dir / "resources/nowcast/sevir/data"
    links = list(data.rglob("*.h5"))
    assert links and all(p.is_symlink() and p.resolve().is_relative_to(local) for p in links)
    with h5py.File(workflow_dir / "results/nowcast/cache/test.h5") as h:
        assert h["x"].shape[0] > 0


def test_a_truncated_local_catalog_stops_the_first_job_naming_the_file_and_line(
    workflow_dir: Path, snakemake_in, tmp_path: Path
) -> None:
    local = tmp_path / "shared_sevir"
    cfg = SyntheticSevirConfig(n_events=6, image_size=32, seed=5)
    write_catalog(local / "CATALOG.csv", synthetic_catalog(cfg))
    text = (local / "CATALOG.csv").read_bytes()
    (local / "CATALOG.csv").write_bytes(text[: len(text) * 2 // 3])  # cut mid-row
    _nowcast_config(workflow_dir, source="sevir_local", sevir={"local_dir": str(local)})
    result = snakemake_in("results/nowcast/cache/test.h5", check=False)
    assert result.returncode != 0
    log = (workflow_dir / "results/logs/nowcast/nowcast_source_catalog.log").read_text()
    assert f"InputError: {local / 'CATALOG.csv'}: ends mid-row at line " in log
    assert "the file is truncated" in log
    assert not (workflow_dir / "resources/nowcast/sevir/CATALOG.csv").exists()


def test_missing_local_directory_is_one_line(workflow_dir: Path, snakemake_in, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    _nowcast_config(workflow_dir, source="sevir_local", sevir={"local_dir": str(missing)})
    result = snakemake_in("results/nowcast/cache/test.h5", check=False)
    assert result.returncode != 0
    log = (workflow_dir / "results/logs/nowcast/nowcast_source_catalog.log").read_text()
    assert f"InputError: {missing}: SEVIR directory (nowcast.sevir.local_dir) does not exist" in log
    assert not (workflow_dir / "resources/nowcast/sevir/CATALOG.csv").exists()


def test_a_server_that_never_answers_fails_the_download_in_seconds_and_says_so_on_the_console(
    workflow_dir: Path, snakemake_in
) -> None:
    with silent_server() as url:
        transfer = {"base_url": url, "timeout_s": 0.5, "retries": 1, "backoff_s": 0.0}
        _nowcast_config(workflow_dir, source="sevir_s3", sevir=transfer)
        result = snakemake_in("resources/nowcast/sevir/CATALOG.csv", check=False, timeout=120)
    assert result.returncode != 0
    # while the job runs, the console shows why it waits: the retry, with the timeout
    assert "CATALOG.csv: TimeoutError: timed out; retry 1/1 in 0.0 s" in result.stdout
    log = (workflow_dir / "results/logs/nowcast/nowcast_source_catalog.log").read_text()
    failure = [line for line in log.splitlines() if line.startswith("atmo.errors.InputError")]
    assert failure == [
        f"atmo.errors.InputError: {url}/CATALOG.csv: download failed after 2 attempts: TimeoutError: timed out"
    ]
    assert not (workflow_dir / "resources/nowcast/sevir/CATALOG.csv").exists()
