"""The training job every experiment runs: registry + model entry + datasets + train block -> files.

:func:`train_job` is what a ``<module>_train`` rule calls. It builds the model from the registry,
trains it with :class:`~atmo.train.trainer.Trainer` in a run directory claimed for the job's
fingerprint, and exports

- ``model.pt``: the best epoch (or the last when nothing is monitored): state_dict, resolved train
  config, ``meta`` (module, arch, constructor arguments, loss) and the training summary;
- ``history.csv`` and ``metrics.json`` beside it (copies of the run directory's, as outputs).

:func:`start_job` is the first call of a workflow script that runs a model: log file, torch threads
equal to the job's ``threads``, and exit when the workflow process dies.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset

from atmo.io.atomic import atomic_path, write_json
from atmo.runlog import log_to
from atmo.train.checkpoint import load_checkpoint
from atmo.train.config import TrainConfig
from atmo.train.lifeline import exit_with_workflow
from atmo.train.loader import make_loader
from atmo.train.model_file import export_model
from atmo.train.registry import Registry, build_model
from atmo.train.seeding import seed_everything
from atmo.train.trainer import EpochCallback, LossStep, Trainer, ValStep, ValSummary

log = logging.getLogger(__name__)


def start_job(log_path: str | os.PathLike[str], threads: int) -> logging.Logger:
    """Log to ``log_path``, make torch use ``threads`` CPU threads, and die with the workflow.

    Snakemake exports ``OMP_NUM_THREADS`` = the job's threads, but torch reads it only at import
    and other libraries may have changed it since; setting it here makes the count explicit and logged.
    """
    logger = log_to(log_path)
    torch.set_num_threads(max(1, int(threads)))
    logger.info("torch uses %d CPU thread(s)", torch.get_num_threads())
    exit_with_workflow()
    return logger


def count_parameters(model: torch.nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def train_job(
    *,
    registry: Registry,
    meta: Mapping[str, Any],
    train: Mapping[str, Any],
    train_set: Dataset,
    val_set: Dataset | None,
    loss_step: LossStep,
    val_step: ValStep | None = None,
    val_summary: ValSummary | None = None,
    inputs: Mapping[str, str | os.PathLike[str]],
    model_path: str | os.PathLike[str],
    run_dir: str | os.PathLike[str] | None = None,
    collate_fn: Callable[[list[Any]], Any] | None = None,
    keep_epochs: Collection[int] = (),
    callbacks: Sequence[EpochCallback] = (),
    facts: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Train ``meta["arch"]`` with ``meta["params"]`` and write ``model.pt``, ``history.csv``, ``metrics.json``.

    ``meta`` comes from :func:`atmo.train.model_file.model_meta`. ``inputs`` are the data files the
    run depends on (their content hashes enter the fingerprint). ``run_dir`` defaults to ``run/``
    beside ``model_path``. ``keep_epochs`` are periodic checkpoints the caller copies out afterwards,
    so ``train.keep_checkpoints`` never prunes them. ``callbacks`` are the trainer's ``fn(epoch, row)``,
    called after each epoch's files are written (e.g. to keep a copy of a periodic checkpoint).
    Returns the training summary (also in ``metrics.json``): the trainer's, the exported epoch, the
    parameter, training and validation sample counts, and the caller's ``facts`` about its data (what
    a reader of the results needs to know it trained on).
    """
    module = meta["module"]
    config = TrainConfig.from_dict(train, where=f"{module}.train")
    out = Path(model_path).parent
    run_dir = Path(run_dir) if run_dir is not None else out / "run"
    seed_everything(config.seed, config.deterministic)  # the initial weights depend on the seed alone
    model = build_model(registry, module, meta["arch"], meta["params"])
    n_train = len(train_set)  # type: ignore[arg-type]
    log.info("training %s %s (%d parameters) on %d samples", module, meta["arch"], count_parameters(model), n_train)
    trainer = Trainer(
        model,
        config,
        run_dir,
        loss_step=loss_step,
        val_step=val_step,
        val_summary=val_summary,
        meta=meta,
        inputs=inputs,
        keep_epochs=keep_epochs,
        callbacks=callbacks,
    )
    train_loader = make_loader(train_set, config, shuffle=True, collate_fn=collate_fn)
    val_loader = None if val_set is None else make_loader(val_set, config, shuffle=False, collate_fn=collate_fn)
    summary = trainer.fit(train_loader, val_loader)
    chosen = trainer.best_path if trainer.best_path.exists() else trainer.last_path
    checkpoint = load_checkpoint(chosen, model)
    summary = {
        **summary,
        "exported_epoch": checkpoint["epoch"],
        "n_parameters": count_parameters(model),
        "n_train_samples": n_train,
        "n_val_samples": 0 if val_set is None else len(val_set),  # type: ignore[arg-type]
        **(facts or {}),
    }
    export_model(model_path, model, checkpoint, summary)
    with atomic_path(out / "history.csv") as tmp:
        shutil.copyfile(run_dir / "history.csv", tmp)
    write_json(out / "metrics.json", summary)
    log.info("exported epoch %d of %s to %s", checkpoint["epoch"], run_dir, model_path)
    return summary
