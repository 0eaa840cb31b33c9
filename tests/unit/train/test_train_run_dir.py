"""A run directory belongs to one fingerprint and one writer: stale runs restart, a second trainer stops."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import torch
from train_toys import make_trainer

from atmo.errors import InputError
from atmo.train import load_checkpoint
from atmo.train.run_dir import claim_run_dir, fingerprint_changes, run_fingerprint


def _history_epochs(run: Path) -> list[int]:
    return pd.read_csv(run / "history.csv")["epoch"].tolist()


def _weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path)["model"]


@pytest.mark.parametrize(
    ("changes", "changed"),
    [
        ({"lr": 0.02}, "train.lr"),
        ({"epochs": 3}, "train.epochs"),
        ({"meta": {"hidden": 32}}, "meta.hidden"),
    ],
)
def test_another_fingerprint_restarts_at_epoch_1(tmp_path: Path, caplog, changes: dict, changed: str) -> None:
    run, fresh = tmp_path / "run", tmp_path / "fresh"
    trainer, train, val, _ = make_trainer(run, epochs=2, meta={"hidden": 16})
    trainer.fit(train, val)
    settings = {"epochs": 2, "meta": {"hidden": 16}, **changes}
    trainer, train, val, _ = make_trainer(run, **settings)
    with caplog.at_level(logging.WARNING, logger="atmo.train.run_dir"):
        trainer.fit(train, val)
    assert [r.getMessage() for r in caplog.records if "afresh from epoch 1" in r.getMessage()], caplog.text
    assert changed in caplog.text
    trainer, train, val, _ = make_trainer(fresh, **settings)
    trainer.fit(train, val)
    assert _history_epochs(run) == _history_epochs(fresh) == list(range(1, settings["epochs"] + 1))
    for key, value in _weights(fresh / "last.pt").items():
        assert torch.equal(value, _weights(run / "last.pt")[key]), key


def test_new_input_content_restarts_and_same_content_resumes(tmp_path: Path, caplog) -> None:
    data, run = tmp_path / "train.h5", tmp_path / "run"
    data.write_bytes(b"first data")
    trainer, train, val, _ = make_trainer(run, epochs=2, inputs={"train": data})
    trainer.fit(train, val)
    os.utime(data)  # same content, new mtime: still the same run
    trainer, train, val, _ = make_trainer(run, epochs=2, inputs={"train": data})
    with caplog.at_level(logging.INFO):
        trainer.fit(train, val)
    assert "already finished" in caplog.text and "afresh" not in caplog.text
    caplog.clear()
    data.write_bytes(b"other data")
    trainer, train, val, _ = make_trainer(run, epochs=2, inputs={"train": data})
    with caplog.at_level(logging.INFO):
        trainer.fit(train, val)
    assert "afresh from epoch 1" in caplog.text and "inputs.train" in caplog.text
    assert "already finished" not in caplog.text


def test_a_run_directory_without_fingerprint_is_not_resumed(tmp_path: Path, caplog) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "last.pt").write_bytes(b"left over from an older version")
    trainer, train, val, _ = make_trainer(run, epochs=1)
    with caplog.at_level(logging.WARNING):
        trainer.fit(train, val)
    assert "no fingerprint.json" in caplog.text and _history_epochs(run) == [1]


def test_a_resumed_run_removes_what_a_killed_writer_left_mid_write(tmp_path: Path, caplog) -> None:
    """A job cancelled while atomic_path wrote last.pt leaves ``.last.pt.<random>.pt``; the resume removes it."""
    run = tmp_path / "run"
    trainer, train, val, _ = make_trainer(run, epochs=2)
    trainer.fit(train, val)
    stale = run / ".last.pt.r30uitkw.pt"
    stale.write_bytes(b"half a checkpoint")
    kept = run / "notes.txt"
    kept.write_text("not a temporary")
    trainer, train, val, _ = make_trainer(run, epochs=2)
    with caplog.at_level(logging.WARNING):
        trainer.fit(train, val)
    assert not stale.exists() and kept.exists()
    assert f"removed {stale}" in caplog.text and _history_epochs(run) == [1, 2]
    assert load_checkpoint(run / "last.pt")["epoch"] == 2


def test_fingerprint_changes_name_the_keys() -> None:
    old = {"train": {"lr": 0.1, "epochs": 2}, "meta": {"params": {"a": 1}}, "inputs": {"train": "x"}}
    new = {"train": {"lr": 0.2, "epochs": 2}, "meta": {"params": {"a": 1, "b": 2}}, "inputs": {"train": "y"}}
    assert fingerprint_changes(old, new) == ["inputs.train", "meta.params.b", "train.lr"]
    assert fingerprint_changes(old, old) == []


def _hold_lock(run: str, ready, release) -> None:
    with claim_run_dir(run, run_fingerprint({}, {}, {})):
        ready.set()
        release.wait(30)


@contextlib.contextmanager
def _lock_holder(run: Path) -> Iterator[multiprocessing.Process]:
    """Another process that claims ``run`` and holds it until the block ends (or it is killed)."""
    ctx = multiprocessing.get_context("fork")
    ready, release = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=_hold_lock, args=(str(run), ready, release))
    holder.start()
    try:
        assert ready.wait(30)
        yield holder
    finally:
        if holder.is_alive():  # Event.set waits for every sleeper to wake: never for a killed one
            release.set()
        holder.join(30)


def _claim(run: Path) -> None:
    with claim_run_dir(run, run_fingerprint({}, {}, {})):
        pass


def test_a_second_writer_stops_at_once_naming_the_holder(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with _lock_holder(run) as holder:
        started = time.monotonic()
        with pytest.raises(InputError, match=f"is being written by process {holder.pid} on "):
            _claim(run)
        assert time.monotonic() - started < 5
    _claim(run)  # free again once the holder is gone


def test_the_lock_dies_with_its_process(tmp_path: Path) -> None:
    run = tmp_path / "run"
    with _lock_holder(run) as holder:
        os.kill(holder.pid, signal.SIGKILL)
        holder.join(30)
        _claim(run)


ORPHAN = """
import os, sys, time
from atmo.train.lifeline import exit_with_workflow
exit_with_workflow(poll_seconds=0.1)
print(os.getpid(), flush=True)
time.sleep(60)
"""
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", sys.argv[1]], stdout=sys.stdout)
time.sleep(60)
"""


def test_a_job_ends_when_the_process_that_started_it_is_killed(tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", PARENT, ORPHAN], stdout=subprocess.PIPE, text=True)
    child_pid = int(parent.stdout.readline())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(child_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(child_pid, signal.SIGKILL)
    pytest.fail("the job outlived the process that started it")
