"""Shared fixtures: a runner that executes the real workflow through the snakemake CLI, and one
executed run of ``config/test.yaml`` that the workflow tests share instead of each running their own."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from workflow_helpers import copy_workflow, run_snakemake


@pytest.fixture(scope="session", autouse=True)
def config_check_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One cache of passed config checks (atmo/check_cache.py) for this session's snakemake calls:
    shared, so an unchanged config is checked once, and new, so nothing depends on the user's cache."""
    with pytest.MonkeyPatch.context() as patch:
        directory = tmp_path_factory.mktemp("atmo_cache")
        patch.setenv("ATMO_CACHE_DIR", str(directory))
        yield directory


@pytest.fixture
def workflow_dir(tmp_path: Path) -> Path:
    """A fresh copy of the workflow in a temporary directory."""
    return copy_workflow(tmp_path / "wf")


@pytest.fixture
def snakemake_in(workflow_dir: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``snakemake_in(args...)`` runs the CLI in :func:`workflow_dir` with the test config."""

    def run(*args: str, config: str = "config/test.yaml", **kwargs) -> subprocess.CompletedProcess[str]:
        return run_snakemake(workflow_dir, ["--configfile", config, "--cores", "2", *args], **kwargs)

    return run


@pytest.fixture(scope="session")
def test_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One complete run of ``config/test.yaml`` (all four modules), executed once per session.

    Read it, never write it: a test that reruns after an edit works on :func:`test_run_copy`.
    """
    workdir = copy_workflow(tmp_path_factory.mktemp("test_run") / "wf")
    proc = run_snakemake(workdir, ["--configfile", "config/test.yaml", "--cores", "2"])
    (workdir / "run.stdout").write_text(proc.stdout + proc.stderr)
    return workdir


@pytest.fixture
def test_run_copy(test_run: Path, tmp_path: Path) -> Path:
    """A private copy of :func:`test_run` (results and Snakemake's metadata included) to edit and rerun."""
    dest = tmp_path / "wf"
    shutil.copytree(test_run, dest, symlinks=True)
    return dest
