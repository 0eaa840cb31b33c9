"""Editing one experiment's settings reruns that experiment's jobs and nothing else.

Rules receive only their module's config sub-tree through ``params:``, so Snakemake's params rerun
trigger sees a change in ``riskseg`` only on ``riskseg`` jobs. This runs the real workflow for two
modules, edits the riskseg block of the config, and reads what a dry run would execute.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.workflow

RULE_LINE = re.compile(r"^(?:local)?rule (\w+):", re.MULTILINE)
TWO_MODULES = "modules=[nowcast, riskseg]"


def _rules_to_run(dry_run_output: str) -> set[str]:
    return set(RULE_LINE.findall(dry_run_output)) - {"all"}


def test_riskseg_edit_reruns_only_riskseg(workflow_dir: Path, snakemake_in) -> None:
    snakemake_in("--config", TWO_MODULES)
    assert _rules_to_run(snakemake_in("-n", "--config", TWO_MODULES).stdout) == set()

    config_path = workflow_dir / "config/test.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["riskseg"]["seed"] += 1
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    stale = _rules_to_run(snakemake_in("-n", "--config", TWO_MODULES).stdout)
    assert stale, "changing riskseg.seed must make riskseg outputs stale"
    assert all(rule.startswith("riskseg") for rule in stale), stale
