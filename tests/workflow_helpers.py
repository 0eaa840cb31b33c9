"""Helpers that run the real workflow through the snakemake CLI (shared by conftest and test modules).

Test modules import these from here, never from ``conftest``: several test folders have a
``conftest.py`` of their own, so ``import conftest`` would pick whichever pytest loaded first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
WORKFLOW_PARTS = ("Snakefile", "rules", "workflow_scripts", "config", "profiles", "envs")


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow definition (not results) into ``dest`` so a test owns its working dir."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def run_snakemake(
    workdir: Path,
    args: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 1200,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``snakemake <args>`` in ``workdir``; on failure with ``check`` show its output and logs."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [SNAKEMAKE, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if check and proc.returncode != 0:
        logs = "\n".join(
            f"--- {log}\n{log.read_text()[-3000:]}" for log in sorted((workdir / "results/logs").rglob("*.log"))
        )
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}\n{logs}")
    return proc
