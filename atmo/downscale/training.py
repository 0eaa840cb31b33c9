"""Training one cVAE variant through the shared path, and keeping the epochs the seed samples.

:func:`train_variant` reads the fields file, fits the coarse normalisation and the loss's ``y_ref``
(the P99 of the fine training fields) on the *training* split only, and trains through
:func:`atmo.train.train_job`: early stopping and the exported ``model.pt`` look at the validation
split only (``train.monitor``, e.g. ``val_loss`` or the seed's ``val_tail_mae``); the test split is
never read. The seed's lesson "do not trust the best checkpoint alone — epoch 110 beat epoch 38"
is why the job then copies the periodic checkpoints of the requested sampling epochs (written by
the shared Trainer every ``train.checkpoint_every`` epochs to ``run/checkpoints/epoch_XXXX.pt``)
to the job's outputs. An epoch that was never checkpointed is an error naming it:
:func:`check_sampling_epochs` catches what the config alone shows (not a multiple of
``checkpoint_every``, beyond ``epochs``) before any job runs; an epoch after early stopping ended
the run is known only afterwards and raises :class:`InputError` then.

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
from atmo.downscale.losses import TailWeightedLoss, latent_activity, loss_step, val_step
from atmo.downscale.models import DOWNSCALE_MODELS
from atmo.errors import ConfigError, InputError
from atmo.io.atomic import atomic_path, write_json
from atmo.io.downscale import DownscaleFields, read_fields, read_split
from atmo.train import LoadedModel, TrainConfig, build_model, load_trained, model_meta, train_job

log = logging.getLogger(__name__)

MODULE = "downscale"
#: Percentile of the fine training fields (all pixels, dry included) used as the loss's ``y_ref``.
TAIL_PERCENTILE = 99.0
#: Where the sampling epochs are configured (named in errors).
EPOCHS_KEY = "downscale.sampling.epochs"
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
    return loss, TailWeightedLoss(**loss)


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


def check_sampling_epochs(epochs: Sequence[int], train: Mapping[str, Any] | TrainConfig, where: str = EPOCHS_KEY):
    """Raise :class:`ConfigError` unless every epoch in ``epochs`` will be checkpointed by ``train``.

    An epoch must be an integer in ``1..train.epochs`` and a multiple of ``train.checkpoint_every``.
    (Whether early stopping ends the run before it is known only after training.)
    """
    config = TrainConfig.from_dict(train, where=f"{MODULE}.train") if not isinstance(train, TrainConfig) else train
    for epoch in epochs:
        if isinstance(epoch, bool) or not isinstance(epoch, int | np.integer) or epoch < 1:
            raise ConfigError(f"invalid config: key '{where}': expected epochs >= 1, got {epoch!r}")
        if epoch > config.epochs:
            raise ConfigError(
                f"invalid config: key '{where}': epoch {epoch} is never checkpointed: training runs "
                f"{config.epochs} epochs ({MODULE}.train.epochs)"
            )
        if epoch % config.checkpoint_every:
            raise ConfigError(
                f"invalid config: key '{where}': epoch {epoch} is never checkpointed: not a multiple of "
                f"{MODULE}.train.checkpoint_every = {config.checkpoint_every}"
            )
    if len(set(epochs)) != len(epochs):
        raise ConfigError(f"invalid config: key '{where}': repeated epoch in {list(epochs)}")


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
    checkpoint_epochs: Sequence[int] = (),
    checkpoint_paths: Sequence[str | os.PathLike[str]] = (),
) -> dict[str, Any]:
    """Train ``variant`` (its ``downscale.models`` entry ``spec``) on the fields file ``fields``.

    Writes ``model_path`` (+ ``history.csv``, ``metrics.json`` beside it, the latter with the latent
    activity on the validation split added) and copies the periodic checkpoint of each of
    ``checkpoint_epochs`` to the matching entry of ``checkpoint_paths``, atomically. Returns the summary.
    """
    if len(checkpoint_epochs) != len(checkpoint_paths):
        raise ValueError(f"{len(checkpoint_epochs)} sampling epochs but {len(checkpoint_paths)} output paths")
    config = TrainConfig.from_dict(train, where=f"{MODULE}.train")
    check_sampling_epochs(checkpoint_epochs, config)
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
        keep_epochs=checkpoint_epochs,
    )
    _copy_epoch_checkpoints(Path(model_path).parent / "run", config, summary, checkpoint_epochs, checkpoint_paths)
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


def _copy_epoch_checkpoints(
    run_dir: Path,
    config: TrainConfig,
    summary: Mapping[str, Any],
    epochs: Sequence[int],
    paths: Sequence[str | os.PathLike[str]],
) -> None:
    """Copy ``run_dir/checkpoints/epoch_XXXX.pt`` of every epoch to its path; check all before copying any."""
    sources = []
    for epoch in epochs:
        source = run_dir / "checkpoints" / f"epoch_{int(epoch):04d}.pt"
        if int(epoch) > summary["epochs_run"]:
            raise InputError(
                source,
                f"epoch {epoch} was never checkpointed: early stopping ended training after epoch "
                f"{summary['epochs_run']} (patience {config.patience}); lower {EPOCHS_KEY} or raise the patience",
            )
        if not source.is_file():
            raise InputError(source, f"the checkpoint of epoch {epoch} is missing (deleted after training?)")
        sources.append(source)
    for source, path in zip(sources, paths, strict=True):
        with atomic_path(path) as tmp:
            shutil.copyfile(source, tmp)
        log.info("kept epoch checkpoint %s as %s", source, path)


def load_variant(path: str | os.PathLike[str], variant: str, device: torch.device | str = "cpu") -> LoadedModel:
    """Load ``model.pt`` or any checkpoint of a run of ``variant``; :class:`InputError` in one line otherwise.

    Refused (by :func:`atmo.train.load_trained`): a file that is not a checkpoint, one of another
    module, one of another variant (or of none), and weights that do not fit the architecture in its
    ``meta``.
    """
    return load_trained(path, DOWNSCALE_MODELS, MODULE, device, expect={"variant": variant})
