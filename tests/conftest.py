"""Shared fixtures: a runner that executes the real workflow through the snakemake CLI."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from workflow_helpers import copy_workflow, run_snakemake


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
