"""With the real `sevir_s3` source, settings the download does not read never download again.

A local HTTP server on 127.0.0.1 serves a SEVIR bucket (CATALOG.csv + data/) and counts GET
requests. After the first run fetched every file, editing `nowcast.seed` (it seeds the split), the
split block, the `synthetic` block (not used by a real source) or the download's timeout, retries
and back-off must rerun the split and caches at most, with zero downloads; on real SEVIR each
refetch is hundreds of gigabytes.
"""

from __future__ import annotations

import functools
import os
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import pytest
from local_http import serve
from workflow_helpers import edit_config, planned_jobs

from atmo.nowcast.sevir_files import data_file_names, write_catalog
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, synthetic_catalog, write_synthetic_file

pytestmark = pytest.mark.workflow

CACHES = [f"results/nowcast/cache/{split}.h5" for split in ("train", "val", "test")]


class _CountingHandler(SimpleHTTPRequestHandler):
    """Serves a directory and appends every requested path to ``requests``."""

    def __init__(self, *args, requests: list[str], **kwargs) -> None:
        self.requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, *args: object) -> None:
        pass


def _bucket(root: Path) -> int:
    """A small SEVIR bucket under ``root``; returns the number of data files."""
    cfg = SyntheticSevirConfig(n_events=6, image_size=32, seed=3)
    catalog = synthetic_catalog(cfg)
    root.mkdir(parents=True)
    write_catalog(root / "CATALOG.csv", catalog)
    names = data_file_names(catalog)
    for name in names:
        write_synthetic_file(catalog, name, root / "data" / name, cfg)
    return len(names)


def _edit_what_the_download_ignores(nowcast: dict) -> None:
    """The seed (it seeds the split), the split, the unused ``synthetic`` block and the transfer keys."""
    nowcast["seed"] += 1
    nowcast["split"]["val_fraction"] = 0.3
    nowcast["synthetic"]["n_events"] += 2
    nowcast["sevir"].update(timeout_s=30, retries=5, backoff_s=2)


def test_settings_the_download_ignores_download_nothing(workflow_dir: Path, snakemake_in, tmp_path: Path) -> None:
    n_files = _bucket(tmp_path / "bucket")
    requests: list[str] = []
    handler = functools.partial(_CountingHandler, requests=requests, directory=os.fspath(tmp_path / "bucket"))
    with serve(handler) as url:
        edit_config(workflow_dir, lambda c: c["nowcast"].update(source="sevir_s3", sevir={"base_url": url}))
        snakemake_in(*CACHES)
        assert sum(path.startswith("/data/") for path in requests) == n_files
        first = len(requests)
        # all at once: a rerun that downloads nothing after the joint edit downloads nothing after
        # any one of them (a job reruns when any of its params changes)
        edit_config(workflow_dir, lambda c: _edit_what_the_download_ignores(c["nowcast"]))
        proc = snakemake_in(*CACHES)
        rules = {rule for rule, _ in planned_jobs(proc.stdout + proc.stderr)}  # jobs are logged to stderr
        assert {"nowcast_split", "nowcast_cache"} <= rules, rules  # the split did change
        assert not rules & {"nowcast_source_catalog", "nowcast_fetch", "nowcast_catalog"}, rules
        assert requests[first:] == [], f"the edits downloaded again: {requests[first:]}"
