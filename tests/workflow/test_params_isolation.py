"""Editing one experiment's settings reruns that experiment's jobs and nothing else.

Rules receive only their module's config sub-tree through ``params:``, so Snakemake's params rerun
trigger sees a change in ``riskseg`` only on ``riskseg`` jobs. This edits the riskseg block of a copy of
the shared executed test run and reads what a dry run would execute.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from workflow_helpers import edit_config, planned_jobs, run_snakemake

pytestmark = pytest.mark.workflow


def _rules_to_run(dry_run_output: str) -> set[str]:
    return {rule for rule, _ in planned_jobs(dry_run_output)} - {"all"}


def _next_riskseg_seed(config: dict) -> None:
    config["riskseg"]["seed"] += 1


def test_riskseg_edit_reruns_only_riskseg(test_run_copy: Path) -> None:
    args = ["--configfile", "config/test.yaml", "--cores", "2", "-n"]
    dry = run_snakemake(test_run_copy, args)
    assert _rules_to_run(dry.stdout + dry.stderr) == set()

    edit_config(test_run_copy, _next_riskseg_seed)

    dry = run_snakemake(test_run_copy, args)
    stale = _rules_to_run(dry.stdout + dry.stderr)
    assert stale, "changing riskseg.seed must make riskseg outputs stale"
    # the summary reads every module's metrics, so it is the one job outside riskseg that reruns (the
    # riskseg tables' HTML pages rerun with them)
    assert all(rule.startswith("riskseg") for rule in stale - {"summary", "report_table_page"}), stale


# The nowcast jobs downstream of training: a training edit reruns these and must leave the data stage
# (download, split, cache) and the untrained baselines alone.
NOWCAST_DOWNSTREAM = {"nowcast_train", "nowcast_forecast", "nowcast_score", "nowcast_table"}


def _planned(workflow: Path) -> list[tuple[str, dict[str, str]]]:
    dry = run_snakemake(workflow, ["--configfile", "config/test.yaml", "--cores", "2", "-n"])
    return [(rule, wildcards) for rule, wildcards in planned_jobs(dry.stdout + dry.stderr) if rule != "all"]


def test_nowcast_augment_edit_retrains_every_nowcast_model_and_nothing_upstream(test_run_copy: Path) -> None:
    assert _planned(test_run_copy) == []
    config = edit_config(test_run_copy, lambda c: c["nowcast"].update(augment={"flips": False, "rot90": False}))

    planned = _planned(test_run_copy)
    trained = {wildcards["model"] for rule, wildcards in planned if rule == "nowcast_train"}
    assert trained == set(config["nowcast"]["models"]), trained
    assert {rule for rule, _ in planned} - {"summary", "report_table_page"} == NOWCAST_DOWNSTREAM, planned


def test_nowcast_loss_edit_retrains_only_that_model(test_run_copy: Path) -> None:
    def raise_unet_csi_weight(config: dict) -> None:
        config["nowcast"]["models"]["unet"].setdefault("loss", {})["csi_weight"] = 0.5

    edit_config(test_run_copy, raise_unet_csi_weight)

    planned = _planned(test_run_copy)
    assert {wildcards["model"] for rule, wildcards in planned if rule == "nowcast_train"} == {"unet"}, planned
    assert {wildcards["name"] for rule, wildcards in planned if rule == "nowcast_forecast"} == {"unet"}, planned
    assert {rule for rule, _ in planned} - {"summary", "report_table_page"} == NOWCAST_DOWNSTREAM, planned
