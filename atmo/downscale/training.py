"""Training one cVAE variant through the shared path, and keeping every epoch sampling may ask for.

:func:`train_variant` reads the fields file, fits the coarse normalisation and the loss's ``y_ref``
(the P99 of the fine training fields) on the *training* split only, and trains through
:func:`atmo.train.train_job`: early stopping and the exported ``model.pt`` look at the validation
split only (``train.monitor``; by default ``val_crps``, the CRPS of a small prior ensemble,
:mod:`atmo.downscale.validation`); the test split is never read.

The write-up's lesson "do not trust the best checkpoint alone — epoch 110 beat epoch 38" is why
the sampling jobs read periodic checkpoints. The training job knows nothing of which epochs they
sample: it keeps the weights of every ``train.checkpoint_every``-th epoch it ran, and of the last one,
in ``epochs/epoch<E>.pt`` beside ``model.pt`` (a directory output; the weights alone, without the
optimizer state) with :data:`INDEX` listing them, so editing the sampled epochs reruns sampling and
scoring and never a training (:mod:`atmo.downscale.sampling` picks the epoch it samples). As each
periodic checkpoint is written, a trainer callback saves its weights to ``run/epochs/`` — the shared
trainer prunes its own checkpoints to ``train.keep_checkpoints`` — and a killed job that resumes
keeps what it had; at the end they are linked into ``epochs/`` at once.

Every checkpoint of a run (``model.pt``, ``best.pt``, ``last.pt`` and the periodic ones) carries the
same ``meta``: module, architecture, constructor arguments, loss (with ``y_ref_mm``), the
normalisation statistics and the ``variant`` name. :func:`load_variant` loads any of them, and
refuses a checkpoint of another variant in one line. (The shared :func:`atmo.train.load_model`
would load a periodic checkpoint too — they have the keys it needs — but it cannot check the
variant and does not report the epoch.)
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

from atmo.downscale.dataset import CoarseNormaliser, DownscaleDataset
from atmo.downscale.field_files import DownscaleFields, read_fields, read_split
from atmo.downscale.losses import TailWeightedLoss, latent_activity, loss_step
from atmo.downscale.models import DOWNSCALE_MODELS
from atmo.downscale.validation import val_step
from atmo.errors import InputError
from atmo.io.atomic import atomic_directory, atomic_path, write_json
from atmo.train import LoadedModel, TrainConfig, build_model, load_checkpoint, load_trained, model_meta, train_job

log = logging.getLogger(__name__)

MODULE = "downscale"
#: Percentile of the fine training fields (all pixels, dry included) used as the loss's ``y_ref``.
TAIL_PERCENTILE = 99.0
#: The file in a training job's ``epochs/`` directory that lists its epochs and how training ended.
INDEX = "index.json"
# y_ref of the throw-away loss that build_variant_entry constructs to check the loss block.
_CHECK_Y_REF_MM = 1.0


def data_keywords(fields: DownscaleFields) -> dict[str, Any]:
    """The constructor keywords the data fixes: ``in_channels``, ``coarse_shape``, ``factor``."""
    return {
        "in_channels": 1 + fields.predictors_lr.shape[1],
        "coarse_shape": list(fields.precip_lr_mm.shape[1:]),
        "factor": int(fields.factor),
    }


def variant_loss(spec: Mapping[str, Any], y_ref_mm: float) -> tuple[dict[str, Any], TailWeightedLoss]:
    """A variant's ``loss`` block with ``y_ref_mm`` added, and the criterion it makes."""
    loss = {**(spec.get("loss") or {}), "y_ref_mm": float(y_ref_mm)}
    return loss, TailWeightedLoss(spec.get("loss"), y_ref_mm=float(y_ref_mm))


def build_variant_entry(
    spec: Mapping[str, Any], *, in_channels: int, coarse_shape: Sequence[int], factor: int
) -> nn.Module:
    """The model (and loss) a training job builds for ``spec`` on data of the given shape.

    For :func:`atmo.train.check_entries` at parse time: a setting the constructor refuses (``n_blocks``
    that does not match the factor, an ``inject_blocks`` index out of range, ``w_max < 1``) stops the
    workflow with one line naming the key.
    """
    variant_loss(spec, _CHECK_Y_REF_MM)
    params = {**(spec.get("params") or {}), "in_channels": in_channels, "coarse_shape": list(coarse_shape)}
    return build_model(DOWNSCALE_MODELS, MODULE, spec["arch"], {**params, "factor": factor})


def training_reference(fields: DownscaleFields, train_indices: np.ndarray, where: str) -> float:
    """``y_ref``: the P99 of the fine training fields in mm; :class:`InputError` if it is 0 (too dry)."""
    y_ref = float(np.percentile(fields.precip_hr_mm[train_indices], TAIL_PERCENTILE))
    if not y_ref > 0:
        raise InputError(where, f"the P{TAIL_PERCENTILE:g} of the training fields is 0 mm: too dry for tail weights")
    return y_ref


def train_variant(
    *,
    fields: str | os.PathLike[str],
    variant: str,
    spec: Mapping[str, Any],
    train: Mapping[str, Any],
    model_path: str | os.PathLike[str],
    epochs_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Train ``variant`` (its ``downscale.variants`` entry ``spec``) on the fields file ``fields``.

    Writes ``model_path`` (+ ``history.csv``, ``metrics.json`` beside it, the latter with the latent
    activity on the validation split added) and, if ``epochs_dir`` is given, the weights of every
    periodic checkpoint epoch there (module docstring). Returns the summary.
    """
    config = TrainConfig.from_dict(train, where=f"{MODULE}.train")
    where = os.fspath(fields)
    data = read_fields(where)
    split = read_split(where)
    normaliser = CoarseNormaliser.fit(data, split.train)
    y_ref_mm = training_reference(data, split.train, where)
    loss, criterion = variant_loss(spec, y_ref_mm)
    params = {**(spec.get("params") or {}), **data_keywords(data)}
    meta = model_meta(MODULE, spec["arch"], params, loss=loss, variant=variant, normalisation=normaliser.to_dict())
    datasets = {
        name: DownscaleDataset(data, indices, normaliser)
        for name, indices in (("train", split.train), ("val", split.val))
    }
    log.info(
        "%s trains on %d days, validates on %d; y_ref (training P%g) = %.3g mm",
        variant,
        len(datasets["train"]),
        len(datasets["val"]),
        TAIL_PERCENTILE,
        y_ref_mm,
    )
    run_dir = Path(model_path).parent / "run"
    summary = train_job(
        registry=DOWNSCALE_MODELS,
        meta=meta,
        train=config.to_dict(),
        train_set=datasets["train"],
        val_set=datasets["val"],
        loss_step=loss_step(criterion),
        val_step=val_step(criterion),
        inputs={"fields": where},
        model_path=model_path,
        run_dir=run_dir,
        callbacks=[lambda epoch, _row: _keep_weights(run_dir, config, epoch)],
    )
    if epochs_dir is not None:
        _publish_epochs(run_dir, config, summary, epochs_dir)
    exported = load_variant(model_path, variant)
    batches = DataLoader(datasets["val"], batch_size=config.batch_size)
    activity = latent_activity(exported.model, batches)
    summary = {
        **summary,
        "y_ref_mm": y_ref_mm,
        **{f"latent_{key}": value for key, value in activity.items()},
    }
    write_json(Path(model_path).parent / "metrics.json", summary)
    log.info(
        "%s: %d of %d latent dimensions active (mean KL > 0.01 nats), %d by the variance of mu",
        variant,
        activity["active_units_kl"],
        len(activity["kl_per_dim"]),
        activity["active_units_burda"],
    )
    return summary


def _periodic_epochs(config: TrainConfig, epochs_run: int) -> list[int]:
    """The epochs the trainer checkpoints up to ``epochs_run``."""
    return list(range(config.checkpoint_every, epochs_run + 1, config.checkpoint_every))


def _kept_path(run_dir: Path, epoch: int) -> Path:
    return run_dir / "epochs" / f"epoch{epoch}.pt"


def _strip(source: Path, target: Path) -> None:
    """Save the checkpoint ``source`` without its training state (optimizer, RNG) to ``target``."""
    checkpoint = load_checkpoint(source)
    checkpoint.pop("state", None)
    with atomic_path(target) as tmp:
        torch.save(checkpoint, tmp)


def _keep_weights(run_dir: Path, config: TrainConfig, epoch: int) -> None:
    """After ``epoch``: save the weights of its periodic checkpoint (and of any earlier one not yet saved,
    e.g. when a job was killed between the two writes) to ``run/epochs/``."""
    for periodic in _periodic_epochs(config, epoch):
        target, source = _kept_path(run_dir, periodic), run_dir / "checkpoints" / f"epoch_{periodic:04d}.pt"
        if source.is_file() and not target.is_file():
            _strip(source, target)


def _publish_epochs(
    run_dir: Path, config: TrainConfig, summary: Mapping[str, Any], epochs_dir: str | os.PathLike[str]
) -> None:
    """Fill ``epochs_dir`` (atomically) with hard links to every kept epoch — the periodic ones and the
    last one run — and ``index.json`` describing them."""
    last = int(summary["epochs_run"])
    if not _kept_path(run_dir, last).is_file():
        _strip(run_dir / "last.pt", _kept_path(run_dir, last))
    epochs = sorted({*_periodic_epochs(config, last), last})
    missing = [epoch for epoch in epochs if not _kept_path(run_dir, epoch).is_file()]
    if missing:
        raise InputError(
            run_dir / "epochs",
            f"the weights of epoch(s) {missing} are missing (deleted while the run was resumed?); "
            "delete the run directory to train afresh",
        )
    with atomic_directory(epochs_dir) as tmp:
        for epoch in epochs:
            try:
                os.link(_kept_path(run_dir, epoch), tmp / f"epoch{epoch}.pt")
            except OSError:  # another file system: a copy costs disk, not correctness
                shutil.copyfile(_kept_path(run_dir, epoch), tmp / f"epoch{epoch}.pt")
        write_json(
            tmp / INDEX,
            {
                "epochs": epochs,
                "epochs_run": last,
                "stopped_early": summary["stopped_early"],
                "checkpoint_every": config.checkpoint_every,
                "patience": config.patience,
            },
        )
    log.info("kept the weights of epochs %s in %s", epochs, epochs_dir)


def load_variant(path: str | os.PathLike[str], variant: str, device: torch.device | str = "cpu") -> LoadedModel:
    """Load ``model.pt`` or any checkpoint of a run of ``variant``; :class:`InputError` in one line otherwise.

    Refused (by :func:`atmo.train.load_trained`): a file that is not a checkpoint, one of another
    module, one of another variant (or of none), and weights that do not fit the architecture in its
    ``meta``.
    """
    return load_trained(path, DOWNSCALE_MODELS, MODULE, device, expect={"variant": variant})
