"""Kill a training job hard, restart it, and get bitwise the weights of an uninterrupted run."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import torch
from train_resume_job import KILLED, main

from atmo.train import load_checkpoint

JOB = Path(__file__).with_name("train_resume_job.py")


def killed_in_child(out_dir: Path, kill_at: str) -> int:
    """Run the job in a child process that dies hard at ``kill_at``; return its exit code.

    Forking skips the seconds of importing torch again, but a process that has used CUDA cannot
    fork safely (CUDA and autograd threads), so then the child is spawned fresh.
    """
    method = "spawn" if torch.cuda.is_initialized() else "fork"
    child = multiprocessing.get_context(method).Process(target=main, args=(out_dir, kill_at))
    child.start()
    child.join(timeout=120)
    return child.exitcode


def restarted(out_dir: Path) -> int:
    """Run the job to the end in a fresh interpreter, as a restarted cluster job would."""
    env = {key: value for key, value in os.environ.items() if key != "ATMO_TEST_KILL_AT"}
    proc = subprocess.run(
        [sys.executable, str(JOB), str(out_dir)],
        cwd=JOB.parent,
        env={**env, "OMP_NUM_THREADS": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.returncode


def test_killed_and_resumed_run_equals_uninterrupted_run(tmp_path: Path) -> None:
    straight, interrupted = tmp_path / "straight", tmp_path / "interrupted"
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in the job processes
    try:
        main(straight)
        # 6 batches per epoch: killed inside batch 9 = half-way through epoch 2, then killed right
        # after epoch 4 was saved, then restarted to the end.
        assert killed_in_child(interrupted, "batch:9") == KILLED
        assert load_checkpoint(interrupted / "last.pt")["epoch"] == 1
        assert killed_in_child(interrupted, "epoch:4") == KILLED
        assert load_checkpoint(interrupted / "last.pt")["epoch"] == 4
    finally:
        torch.set_num_threads(threads)
    assert restarted(interrupted) == 0

    kept = sorted(path.name for path in (straight / "checkpoints").iterdir())
    assert sorted(path.name for path in (interrupted / "checkpoints").iterdir()) == kept
    for name in ("last.pt", "best.pt", *(f"checkpoints/{file}" for file in kept)):
        expected, got = load_checkpoint(straight / name), load_checkpoint(interrupted / name)
        assert expected["epoch"] == got["epoch"], name
        assert expected["model"].keys() == got["model"].keys()
        for key, tensor in expected["model"].items():
            assert torch.equal(tensor, got["model"][key]), f"{name}: {key} differs"
    history = [pd.read_csv(d / "history.csv").drop(columns="seconds") for d in (straight, interrupted)]
    pd.testing.assert_frame_equal(*history, check_exact=True)
    assert list(history[1]["epoch"]) == [1, 2, 3, 4, 5, 6]
