"""A damaged resource file is never kept: the step that finds it moves it aside, the next run fetches it.

Works on a copy of the shared executed test run, so only the cache and fetch jobs run.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import planned_jobs, run_snakemake

pytestmark = pytest.mark.workflow

CACHES = [f"results/nowcast/cache/{split}.h5" for split in ("train", "val", "test")]


def test_a_truncated_data_file_is_quarantined_and_the_next_run_fetches_it_again(test_run_copy: Path) -> None:
    """The cache step finds the damaged file; the rerun after it must fetch (here: regenerate) the file."""
    data = test_run_copy / "resources/nowcast/sevir/data"
    damaged = sorted(data.rglob("*VIL*.h5"))[0]
    intact = damaged.read_bytes()
    damaged.write_bytes(intact[: len(intact) // 2])
    args = ["--configfile", "config/test.yaml", "--cores", "2", *CACHES]
    failed = run_snakemake(test_run_copy, args, check=False)
    assert failed.returncode != 0
    relative = damaged.relative_to(data)
    quarantined = test_run_copy / "resources/nowcast/sevir/quarantine" / relative
    logs = "".join(p.read_text() for p in (test_run_copy / "results/logs/nowcast/nowcast_cache").glob("*.log"))
    assert f"moved to resources/nowcast/sevir/quarantine/{relative}: the next run fetches it again" in logs
    assert quarantined.stat().st_size == len(intact) // 2 and not damaged.exists()

    rerun = run_snakemake(test_run_copy, args)
    assert ("nowcast_fetch", {"sevir_file": str(relative)}) in planned_jobs(rerun.stdout + rerun.stderr)
    assert damaged.read_bytes() == intact  # the synthetic source writes the same file again
