"""Training job for the kill-and-resume test, run as ``python train_resume_job.py OUT_DIR``.

``ATMO_TEST_KILL_AT`` = ``epoch:K`` ends the process hard (``os._exit``, no cleanup) right after
epoch K's files are written; ``batch:K`` ends it inside training batch K (counted from this
process's start), i.e. half-way through an epoch. Unset: train to the end.

``deterministic: false`` only because switching torch's deterministic flag imports the compiler
stack (~5 s per process); the CPU kernels of this model are deterministic either way.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import torch
from train_toys import loss_step, make_trainer

KILLED = 137  # what a SIGKILLed job reports


def main(out_dir: Path, kill_at: str | None = None) -> None:
    """Train the toy model for 6 epochs (one data worker, dropout, cosine LR) into ``out_dir``."""
    kind, _, at = (kill_at or "none:0").partition(":")
    calls = 0

    def dying_loss_step(model, batch, device):
        nonlocal calls
        calls += 1
        if kind == "batch" and calls == int(at):
            os._exit(KILLED)
        return loss_step(model, batch, device)

    def die_after(epoch: int, row: dict) -> None:
        if kind == "epoch" and epoch == int(at):
            os._exit(KILLED)

    trainer, train_loader, val_loader, _ = make_trainer(
        out_dir,
        epochs=6,
        num_workers=1,
        deterministic=False,
        scheduler="cosine",
        loss_step=dying_loss_step,
        callbacks=[die_after],
    )
    trainer.fit(train_loader, val_loader)


if __name__ == "__main__":
    torch.set_num_threads(1)
    main(Path(sys.argv[1]), os.environ.get("ATMO_TEST_KILL_AT"))
