"""Editing one experiment's settings reruns that experiment's jobs and nothing else.

Rules receive only their module's config sub-tree through ``params:``, so Snakemake's params rerun
trigger sees a change in ``riskseg`` only on ``riskseg`` jobs. This edits the riskseg block of a copy of
the shared executed test run and reads what a dry run would execute. The train settings that change
no weights (``progress``, ``keep_checkpoints``) are kept out of ``params:`` altogether.
"""

from __future__ import annotations

import json
import re
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
    # riskseg tables' HTML pages rerun with them, and riskseg's job of the shared comparisons rule: another
    # module's comparisons job reads only that module's unit files, which would show as its own stale rules)
    shared = {"summary", "report_table_page", "comparisons"}
    assert all(rule.startswith("riskseg") for rule in stale - shared), stale


# The nowcast jobs downstream of training: a training edit reruns these and must leave the data stage
# (download, split, cache) and the untrained baselines alone.
NOWCAST_DOWNSTREAM = {
    "nowcast_train",
    "nowcast_forecast",
    "nowcast_score",
    "comparisons",
    "nowcast_table",
    "nowcast_loss_shares",
}


def _planned(workflow: Path) -> list[tuple[str, dict[str, str]]]:
    dry = run_snakemake(workflow, ["--configfile", "config/test.yaml", "--cores", "2", "-n"])
    return [(rule, wildcards) for rule, wildcards in planned_jobs(dry.stdout + dry.stderr) if rule != "all"]


def test_nowcast_augment_edit_retrains_every_nowcast_model_and_nothing_upstream(test_run_copy: Path) -> None:
    assert _planned(test_run_copy) == []
    config = edit_config(test_run_copy, lambda c: c["nowcast"].update(augment={"flips": False, "rot90": False}))

    planned = _planned(test_run_copy)
    trained = {wildcards["model"] for rule, wildcards in planned if rule == "nowcast_train"}
    assert trained == set(config["nowcast"]["models"]), trained
    # the physics weight's candidates train with the same augmentation: they and the choice rerun too
    candidates = {"nowcast_loss_candidate", "nowcast_loss_choice"}
    assert {rule for rule, _ in planned} - {"summary", "report_table_page"} == NOWCAST_DOWNSTREAM | candidates, planned


def _raise_unet_csi_weight(config: dict) -> None:
    config["nowcast"]["models"]["unet"].setdefault("loss", {})["csi_weight"] = 0.5


def test_nowcast_loss_edit_retrains_only_that_model(test_run_copy: Path) -> None:
    edit_config(test_run_copy, _raise_unet_csi_weight)

    planned = _planned(test_run_copy)
    assert {wildcards["model"] for rule, wildcards in planned if rule == "nowcast_train"} == {"unet"}, planned
    assert {wildcards["name"] for rule, wildcards in planned if rule == "nowcast_forecast"} == {"unet"}, planned
    assert {rule for rule, _ in planned} - {"summary", "report_table_page"} == NOWCAST_DOWNSTREAM, planned


# Every train: block of the workflow, as its path in the config.
TRAIN_BLOCKS = (("nowcast",), ("cbh",), ("cbh", "mae"), ("riskseg",), ("downscale",))


def test_editing_what_a_training_shows_or_keeps_reruns_nothing_and_the_next_training_obeys_it(
    test_run_copy: Path,
) -> None:
    def flip_run_only_settings(config: dict) -> None:
        for path in TRAIN_BLOCKS:
            block = config
            for key in path:
                block = block[key]
            train = block.setdefault("train", {})
            train["progress"] = not train.get("progress", True)
            train["keep_checkpoints"] = 1

    config = edit_config(test_run_copy, flip_run_only_settings)
    assert config["nowcast"]["train"]["progress"] is True  # config/test.yaml turns the bars off
    # only the summary, which states the hash of the resolved config (provenance), not any training
    assert _planned(test_run_copy) == [("summary", {})]
    done = run_snakemake(test_run_copy, ["--configfile", "config/test.yaml", "--cores", "2"])
    assert {rule for rule, _ in planned_jobs(done.stdout + done.stderr)} == {"all", "summary"}

    # A training that reruns for another reason trains with the edited settings.
    edit_config(test_run_copy, _raise_unet_csi_weight)
    model = "results/nowcast/models/unet/seed0/model.pt"
    run_snakemake(test_run_copy, ["--configfile", "config/test.yaml", "--cores", "2", "--", model])
    log = (test_run_copy / "results/logs/nowcast/nowcast_train/unet/seed0.log").read_text()
    metrics = json.loads((test_run_copy / model).with_name("metrics.json").read_text())
    # progress: true in a log file: no carriage-return bar, one readable line per epoch
    # (a line a minute within an epoch, never reached here: tests/unit/train/test_train_progress.py)
    epochs = config["nowcast"]["train"]["epochs"]
    assert "\r" not in log, "a progress bar was written to the log file"
    per_epoch = re.findall(rf"epoch (\d+)/{epochs} train_loss=\S+ .* lr=", log)
    assert per_epoch == [str(epoch) for epoch in range(1, epochs + 1)], log
    run = test_run_copy / model.replace("model.pt", "run")
    kept = {int(path.stem.removeprefix("epoch_")) for path in (run / "checkpoints").glob("epoch_*.pt")}
    assert kept == {config["nowcast"]["train"]["epochs"], metrics["best_epoch"]}, kept
