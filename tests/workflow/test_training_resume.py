"""Edit the config, rerun, and training does the right thing: through the snakemake CLI, executed.

All three start from a copy of the shared executed run of ``config/test.yaml``:

(a) one model's parameter edited: only that model's train, forecast and score jobs and the table
    run; its training starts at epoch 1 and the run succeeds;
(b) new data (``nowcast.seed``): the models retrain from epoch 1 (two of them are rebuilt);
(c) ``snakemake`` killed with SIGKILL in the middle of a training job: the trainer does not live on
    as an orphan, and after ``--unlock`` the rerun resumes from ``last.pt`` and ends with the same
    weights as an uninterrupted run.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from workflow_helpers import SNAKEMAKE, edit_config, planned_jobs, run_snakemake, table_page_jobs

pytestmark = pytest.mark.workflow

ARGS = ("--configfile", "config/test.yaml", "--cores", "2")
AFRESH = re.compile(r"starting \S+/run afresh from epoch 1")


def _train_log(workdir: Path, model: str) -> str:
    return (workdir / f"results/logs/nowcast/nowcast_train/{model}/seed0.log").read_text()


def _history_epochs(workdir: Path, model: str) -> list[int]:
    return pd.read_csv(workdir / f"results/nowcast/models/{model}/seed0/run/history.csv")["epoch"].tolist()


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)["model"]


def test_editing_one_model_retrains_only_it_from_epoch_1(test_run_copy: Path) -> None:
    wf = test_run_copy
    before = _train_log(wf, "unet")
    config = edit_config(wf, lambda c: c["nowcast"]["models"]["unet"]["params"].update(base_channels=8))
    proc = run_snakemake(wf, ARGS)
    out = proc.stdout + proc.stderr  # snakemake logs its jobs to stderr
    jobs = {(rule, tuple(sorted(wildcards.items()))) for rule, wildcards in planned_jobs(out)}
    assert jobs == {
        ("nowcast_train", (("model", "unet"), ("seed", "0"))),
        ("nowcast_forecast", (("name", "unet"), ("seed", "0"))),
        ("nowcast_score", (("name", "unet"), ("seed", "0"))),
        ("comparisons", (("module", "nowcast"),)),
        ("nowcast_table", ()),
        ("nowcast_loss_shares", ()),
        ("summary", ()),
        ("all", ()),
        *table_page_jobs("nowcast"),
    }, out[-4000:]
    log = _train_log(wf, "unet").removeprefix(before)
    assert AFRESH.search(log) and "meta.params.base_channels" in log, log[-3000:]
    assert "resuming" not in log
    assert _history_epochs(wf, "unet") == list(range(1, config["nowcast"]["train"]["epochs"] + 1))
    meta = torch.load(wf / "results/nowcast/models/unet/seed0/model.pt", weights_only=True)["meta"]
    assert meta["params"]["base_channels"] == 8


def test_new_data_retrains_every_model_from_epoch_1(test_run_copy: Path) -> None:
    wf = test_run_copy
    edit_config(wf, lambda c: c["nowcast"].update(seed=c["nowcast"]["seed"] + 1))
    models = ["sgt", "unet"]  # two architectures stand for all: every model reads the same caches
    logs_before = {model: _train_log(wf, model) for model in models}
    targets = [f"results/nowcast/models/{model}/seed0/model.pt" for model in models]
    proc = run_snakemake(wf, [*ARGS, *targets])
    out = proc.stdout + proc.stderr
    trained = {wildcards["model"] for rule, wildcards in planned_jobs(out) if rule == "nowcast_train"}
    assert trained == set(models)
    for model in models:
        log = _train_log(wf, model).removeprefix(logs_before[model])
        assert AFRESH.search(log) and "inputs.train" in log, f"{model}: {log[-2000:]}"
        assert "resuming" not in log, model
        assert _history_epochs(wf, model)[0] == 1


KILL_MODEL = "unet"
KILL_EPOCHS = 25


def _long_unet_config(config: dict) -> None:
    """Only the UNet, wide and for many epochs, so that a kill lands in the middle of its training."""
    nowcast = config["nowcast"]
    nowcast["models"] = {KILL_MODEL: {**nowcast["models"][KILL_MODEL], "params": {"base_channels": 16, "depth": 3}}}
    nowcast["train"]["epochs"] = KILL_EPOCHS
    nowcast["comparison"] = {"headline": KILL_MODEL, "write_up": []}  # name only what runs
    nowcast.pop("loss_choice")  # it tunes the SGT, which this config does not run


def _trainer_pids(workdir: Path) -> list[int]:
    """Processes running the nowcast training script of this workflow copy."""
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                cwd = os.readlink(proc / "cwd")
            except OSError:
                continue
            if "nowcast_train" in cmdline and "snakemake" not in cmdline.split()[0] and cwd == str(workdir):
                found.append(int(proc.name))
    return found


def test_killed_workflow_leaves_no_orphan_and_the_rerun_resumes_bitwise(test_run_copy: Path, tmp_path: Path) -> None:
    straight = tmp_path / "straight"
    shutil.copytree(test_run_copy, straight, symlinks=True)
    target = f"results/nowcast/models/{KILL_MODEL}/seed0/model.pt"
    for wf in (test_run_copy, straight):
        edit_config(wf, _long_unet_config)
    run_snakemake(straight, [*ARGS, target])

    wf = test_run_copy
    history = wf / f"results/nowcast/models/{KILL_MODEL}/seed0/run/history.csv"
    history.unlink()  # the old run's file; wait for the new run's
    with open(tmp_path / "killed.log", "w") as out:
        workflow = subprocess.Popen([SNAKEMAKE, *ARGS, target], cwd=wf, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and workflow.poll() is None:
        if history.exists() and len(history.read_text().splitlines()) >= 3:  # header + 2 epochs
            break
        time.sleep(0.02)
    assert workflow.poll() is None, "training finished before it could be killed"
    trainers = _trainer_pids(wf)
    os.kill(workflow.pid, signal.SIGKILL)
    workflow.wait(30)
    assert trainers, "no training process found"
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and _trainer_pids(wf):
        time.sleep(0.2)
    orphans = _trainer_pids(wf)
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    assert not orphans, "the training process outlived the killed snakemake"
    epochs_done = len(pd.read_csv(history))
    assert 1 <= epochs_done < KILL_EPOCHS

    log_before = _train_log(wf, KILL_MODEL)
    run_snakemake(wf, [*ARGS, "--unlock"])
    run_snakemake(wf, [*ARGS, target])
    log = _train_log(wf, KILL_MODEL).removeprefix(log_before)
    resumed = re.search(r"resuming from \S*last\.pt after epoch (\d+)", log)
    assert resumed and int(resumed[1]) >= epochs_done, log[-3000:]
    assert not AFRESH.search(log)
    assert _history_epochs(wf, KILL_MODEL) == list(range(1, KILL_EPOCHS + 1))
    resumed_weights, straight_weights = _weights(wf / target), _weights(straight / target)
    assert resumed_weights.keys() == straight_weights.keys()
    for name, value in straight_weights.items():
        assert torch.equal(resumed_weights[name], value), name
