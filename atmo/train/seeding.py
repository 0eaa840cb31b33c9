"""Seeding, deterministic kernels and RNG-state snapshots, so a run is a function of its seed.

Three random sources matter in training: torch (initialisation, dropout, shuffling), NumPy and
Python's ``random`` (augmentations in datasets). :func:`seed_everything` seeds all three,
:func:`seed_worker` seeds NumPy/``random`` inside each DataLoader worker, and :func:`rng_state` /
:func:`restore_rng_state` carry the exact generator positions through a checkpoint so that a resumed
run draws the same numbers as an uninterrupted one. Snapshots are tensors and primitives only, so
checkpoints stay loadable with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
import os
import random
from typing import Any

import numpy as np
import torch

log = logging.getLogger(__name__)


def seed_everything(seed: int, deterministic: bool = True) -> None:
    """Seed torch (CPU and all GPUs), NumPy and ``random``; optionally force deterministic kernels.

    Deterministic mode asks torch for deterministic algorithms where they exist (``warn_only``: an op
    without one warns instead of failing the run), disables cuDNN autotuning (which picks kernels by
    timing, hence differently per run) and sets the cuBLAS workspace that CUDA needs for
    reproducible matrix products.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    # Only touch the flag when it changes: setting it imports torch's compiler stack (seconds).
    if torch.are_deterministic_algorithms_enabled() != deterministic:
        torch.use_deterministic_algorithms(deterministic, warn_only=True)
    torch.backends.cudnn.deterministic = deterministic
    torch.backends.cudnn.benchmark = not deterministic
    log.debug("seeded everything with %d (deterministic=%s)", seed, deterministic)


def seed_worker(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: seed NumPy and ``random`` from the worker's torch seed.

    torch gives every worker the seed ``base_seed + worker_id`` with ``base_seed`` drawn from the
    loader's generator, so seeding from it makes augmentations reproducible per epoch and per worker.
    """
    seed = torch.initial_seed() % 2**32
    np.random.seed(seed)
    random.seed(seed)


def rng_state() -> dict[str, Any]:
    """Snapshot of every global generator (torch CPU/CUDA, NumPy, ``random``) as tensors."""
    _, np_keys, np_pos, np_has_gauss, np_gauss = np.random.get_state()
    py_version, py_internal, py_gauss = random.getstate()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "numpy_keys": torch.from_numpy(np_keys.astype(np.int64)),
        "numpy_pos": int(np_pos),
        "numpy_has_gauss": int(np_has_gauss),
        "numpy_gauss": float(np_gauss),
        "python_internal": torch.tensor(py_internal, dtype=torch.int64),
        "python_version": int(py_version),
        "python_gauss": py_gauss,
    }
    if torch.cuda.is_initialized():  # untouched CUDA has no generator position worth keeping
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    """Put every global generator back where :func:`rng_state` found it."""
    torch.set_rng_state(state["torch"])
    np.random.set_state(
        (
            "MT19937",
            state["numpy_keys"].numpy().astype(np.uint32),
            state["numpy_pos"],
            state["numpy_has_gauss"],
            state["numpy_gauss"],
        )
    )
    internal = tuple(int(v) for v in state["python_internal"].tolist())
    random.setstate((state["python_version"], internal, state["python_gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
