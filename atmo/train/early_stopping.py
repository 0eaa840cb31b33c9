"""Early stopping on one monitored metric: stop after ``patience`` epochs without improvement.

Improvement is strict (a tie is not progress) and a non-finite value never improves, so a diverged
run counts down towards stopping instead of being saved as "best".
"""

from __future__ import annotations

import math
from typing import Any


class EarlyStopping:
    """Tracks the best value of the monitored metric and the epochs since it last improved."""

    def __init__(self, mode: str, patience: int | None) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode = mode
        self.patience = patience
        self.best = math.inf if mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    def update(self, value: float, epoch: int) -> bool:
        """Record ``value`` for ``epoch``; return whether it is a new best."""
        improved = math.isfinite(value) and (value < self.best if self.mode == "min" else value > self.best)
        if improved:
            self.best, self.best_epoch, self.bad_epochs = value, epoch, 0
        else:
            self.bad_epochs += 1
        return improved

    @property
    def should_stop(self) -> bool:
        return self.patience is not None and self.bad_epochs >= self.patience

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.bad_epochs = state["best"], state["best_epoch"], state["bad_epochs"]
