"""results/summary.md: every experiment's headline from its own metrics files, and real provenance."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from workflow_helpers import REPO, load_config

from atmo.summary.provenance import config_hash
from atmo.workflow_config import validate_workflow_config

pytestmark = pytest.mark.workflow


def test_the_summary_covers_every_experiment_with_its_winner_line(test_run: Path) -> None:
    text = (test_run / "results/summary.md").read_text()
    for module in ("nowcast", "cbh", "riskseg", "downscale"):
        assert f"## {module}:" in text
    record = json.loads((test_run / "results/summary.json").read_text())
    nowcast = record["experiments"]["nowcast"]
    best = max(
        (name for name in nowcast["rows"] if nowcast["rows"][name]["kind"] == "model"),
        key=lambda name: nowcast["rows"][name]["csi_m"],
    )
    assert f"Best model `{best}`" in nowcast["verdict"] and nowcast["verdict"] in text
    assert "summary: results/summary.md" in (test_run / "run.stdout").read_text()


def test_the_provenance_names_the_real_commit_and_config_hash(test_run: Path) -> None:
    provenance = json.loads((test_run / "results/summary.json").read_text())["provenance"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert provenance["commit"] == head.stdout.strip()
    resolved = validate_workflow_config(load_config(test_run), test_run / "config")
    assert provenance["config_sha256"] == config_hash(resolved)
    assert provenance["config_files"] == ["config/test.yaml"]
    assert provenance["sources"]["riskseg"].startswith("synthetic")
    assert provenance["n_jobs"] > 50 and provenance["wall_s"] > 0
