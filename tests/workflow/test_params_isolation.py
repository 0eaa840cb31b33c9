"""Editing one experiment's settings reruns that experiment's jobs and nothing else.

Rules receive only their module's config sub-tree through ``params:``, so Snakemake's params rerun
trigger sees a change in ``riskseg`` only on ``riskseg`` jobs. This runs the real workflow for two
modules, edits the riskseg block of the config, and reads what a dry run would execute.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import edit_config, planned_jobs

pytestmark = pytest.mark.workflow

TWO_MODULES = "modules=[nowcast, riskseg]"


def _rules_to_run(dry_run_output: str) -> set[str]:
    return {rule for rule, _ in planned_jobs(dry_run_output)} - {"all"}


def _next_riskseg_seed(config: dict) -> None:
    config["riskseg"]["seed"] += 1


def test_riskseg_edit_reruns_only_riskseg(workflow_dir: Path, snakemake_in) -> None:
    snakemake_in("--config", TWO_MODULES)
    assert _rules_to_run(snakemake_in("-n", "--config", TWO_MODULES).stdout) == set()

    edit_config(workflow_dir, _next_riskseg_seed)

    stale = _rules_to_run(snakemake_in("-n", "--config", TWO_MODULES).stdout)
    assert stale, "changing riskseg.seed must make riskseg outputs stale"
    assert all(rule.startswith("riskseg") for rule in stale), stale
