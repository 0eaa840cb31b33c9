"""DataLoaders whose shuffling depends only on ``(seed, epoch)``.

If shuffling drew from the global torch generator, the batch order of epoch ``k`` would depend on
everything that consumed random numbers before it, and a run resumed from a checkpoint would see
different batches than an uninterrupted one. Instead each loader owns a ``torch.Generator`` that
the trainer re-seeds with ``seed + epoch`` before every epoch (:func:`reseed_loader`); the same
generator also fixes the per-worker seeds, which :func:`~atmo.train.seeding.seed_worker` passes on
to NumPy and ``random``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset

from atmo.train.config import TrainConfig
from atmo.train.device import resolve_device
from atmo.train.seeding import seed_worker


def make_loader(
    dataset: Dataset,
    config: TrainConfig,
    *,
    shuffle: bool,
    drop_last: bool = False,
    collate_fn: Callable[[list[Any]], Any] | None = None,
) -> DataLoader:
    """A DataLoader with ``batch_size``/``num_workers`` from ``config``, a private seeded generator
    and seeded workers. Memory is pinned when training on CUDA (faster host-to-GPU copies)."""
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=shuffle,
        drop_last=drop_last,
        num_workers=config.num_workers,
        collate_fn=collate_fn,
        pin_memory=resolve_device(config.device).type == "cuda",
        worker_init_fn=seed_worker,
        generator=torch.Generator().manual_seed(config.seed),
    )


def reseed_loader(loader: DataLoader, seed: int) -> None:
    """Make ``loader``'s next pass (order and worker seeds) a function of ``seed`` alone.

    Works for loaders built elsewhere too: a loader without a generator gets one, and a sampler
    that draws from its own generator (RandomSampler) is pointed at the same one.
    """
    if loader.generator is None:
        loader.generator = torch.Generator()
    loader.generator.manual_seed(seed)
    sampler = getattr(loader, "sampler", None)
    if hasattr(sampler, "generator"):
        sampler.generator = loader.generator
    if loader.worker_init_fn is None:
        loader.worker_init_fn = seed_worker
