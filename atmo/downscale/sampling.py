"""Sample a checkpoint on the test split: K fields per case, prior or posterior mode, one HDF5 file.

The write-up compares two modes, and so does this module:

- ``prior``: ``z ~ N(0, T^2 I)`` — real downscaling, the coarse input alone; what the method is for;
- ``posterior``: ``z ~ q(z | X, Y)`` with the posterior std scaled by ``T`` — the truth informs z,
  so it measures reconstruction (the write-up's 189 mm in posterior mode with diversity 0.002);
- ``posterior_mean``: the mean of ``decode(mu)``, K = 1, the deterministic reference.

A sample is a draw from the decoder's per-pixel distribution (:mod:`atmo.downscale.likelihood`), so
its spread comes from z and from the pixel noise; the temperature scales z only.

The K samples of one case are decoded in one forward pass (the model repeats the case along the
batch); ``batch_size`` is the number of *cases* per pass, so a pass decodes ``batch_size * K``
fields. Draws come from one ``torch.Generator`` seeded with ``seed``, so a file is reproducible on
a given device. Output layout: :mod:`atmo.downscale.sample_files`.

Which checkpoint epochs are sampled (``downscale.sampling.epochs``) is this module's business, not the
training job's, which keeps every periodic epoch (:mod:`atmo.downscale.training`). An epoch that is
never checkpointed is an error naming ``downscale.sampling.epochs``: :func:`check_sampling_epochs`
catches what the config alone shows (not a multiple of ``checkpoint_every``, beyond ``epochs``)
before any job runs. An epoch after early stopping ended the run is known only afterwards:
:func:`sampled_checkpoint` gives the sampling job the last epoch trained instead, with a warning
naming both; the samples file's ``epoch`` attribute and the scores' ``epoch`` say which weights were
sampled.
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from atmo.downscale.dataset import CoarseNormaliser, base_fields_mm
from atmo.downscale.field_files import read_fields, read_split
from atmo.downscale.products import MODES
from atmo.downscale.sample_files import samples_writer
from atmo.downscale.training import INDEX, MODULE, load_variant
from atmo.errors import ConfigError, InputError
from atmo.io.metrics_json import read_json_object
from atmo.train import TrainConfig

log = logging.getLogger(__name__)

#: Where the sampling epochs are configured (named in errors).
EPOCHS_KEY = "downscale.sampling.epochs"


def sample_checkpoint(
    *,
    fields: str | os.PathLike[str],
    checkpoint: str | os.PathLike[str],
    variant: str,
    mode: str,
    k: int,
    temperature: float,
    out_path: str | os.PathLike[str],
    batch_size: int = 8,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> None:
    """Write ``k`` samples per test case of ``checkpoint`` (a ``variant`` checkpoint) to ``out_path``.

    ``mode`` is one of :data:`MODES` (``posterior_mean`` needs ``k = 1``). Raises :class:`ConfigError`
    for a bad mode, ``k`` or temperature and :class:`InputError` for a checkpoint of another variant
    or trained on other predictors or another grid.
    """
    if mode not in MODES:
        raise ConfigError(f"invalid config: key 'downscale.sampling.mode': expected one of {list(MODES)}, got {mode!r}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or (mode == "posterior_mean" and k != 1):
        expected = "1 (posterior_mean is deterministic)" if mode == "posterior_mean" else "an integer >= 1"
        raise ConfigError(f"invalid config: key 'downscale.sampling.k': expected {expected}, got {k!r}")
    if not (math.isfinite(temperature) and temperature > 0):
        raise ConfigError(f"invalid config: key 'downscale.sampling.temperature': expected > 0, got {temperature!r}")
    if batch_size < 1:
        raise ConfigError(f"invalid config: key 'downscale.sampling.batch_size': expected >= 1, got {batch_size!r}")
    device = torch.device(device)
    loaded = load_variant(checkpoint, variant, device)
    where = os.fspath(fields)
    data, test = read_fields(where), read_split(where).test
    normaliser = CoarseNormaliser.from_dict(loaded.meta["normalisation"])
    if normaliser.predictor_names != tuple(data.predictor_names):
        raise InputError(
            checkpoint,
            f"was trained on predictors {list(normaliser.predictor_names)}, "
            f"the fields have {list(data.predictor_names)}",
        )
    coarse_shape = tuple(data.precip_lr_mm.shape[1:])
    if tuple(loaded.meta["params"]["coarse_shape"]) != coarse_shape or loaded.meta["params"]["factor"] != data.factor:
        raise InputError(
            checkpoint,
            f"was trained on a {loaded.meta['params']['coarse_shape']} grid at factor "
            f"{loaded.meta['params']['factor']}, the fields are {list(coarse_shape)} at {data.factor}",
        )
    generator = torch.Generator(device=device).manual_seed(seed)
    attrs = {
        "method": "cvae",
        "variant": variant,
        "epoch": loaded.epoch,
        "mode": mode,
        "k": k,
        "temperature": float(temperature) if mode != "posterior_mean" else float("nan"),
        "deterministic": mode == "posterior_mean",
        "seed": seed,
        "factor": data.factor,
        "fields": where,
    }
    model = loaded.model
    with (
        samples_writer(
            out_path,
            k=k,
            fine_shape=tuple(data.precip_hr_mm.shape[1:]),
            coarse_shape=coarse_shape,
            index=test,
            time_s=data.time_s[test],
            attrs=attrs,
        ) as writer,
        torch.no_grad(),
    ):
        for start in range(0, len(test), batch_size):
            rows = test[start : start + batch_size]
            coarse = torch.from_numpy(normaliser.transform_fields(data, rows)).to(device)
            fine_mm = torch.from_numpy(np.ascontiguousarray(data.precip_hr_mm[rows])).to(device)
            base_mm = torch.from_numpy(base_fields_mm(data, rows)).to(device)
            if mode == "prior":
                fields_mm = model.sample_prior(coarse, k, temperature, generator, base_mm=base_mm)
            elif mode == "posterior":
                fields_mm = model.sample_posterior(coarse, fine_mm, k, temperature, generator, base_mm=base_mm)
            else:
                fields_mm = model.posterior_mean(coarse, fine_mm, base_mm=base_mm).unsqueeze(1)
            writer.write(fields_mm.float().cpu().numpy(), data.precip_hr_mm[rows], data.precip_lr_mm[rows])
    log.info(
        "wrote %d test cases x %d %s samples of %s epoch %d to %s", len(test), k, mode, variant, loaded.epoch, out_path
    )


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


def sampled_checkpoint(epochs_dir: str | os.PathLike[str], epoch: int, where: str = EPOCHS_KEY) -> Path:
    """The checkpoint a sampling job of ``epoch`` reads from a training job's ``epochs_dir``.

    An epoch after the run's last (early stopping ended it) gives the last epoch's, with a warning that
    names both; an epoch the run passed without checkpointing it is a :class:`ConfigError` naming ``where``.
    """
    index = read_json_object(Path(epochs_dir) / INDEX, "index of kept epochs")
    last = int(index["epochs_run"])
    if epoch > last:
        log.warning(
            "%s: epoch %d was never reached: early stopping ended training after epoch %d (patience %s); "
            "sampling epoch %d, the last one trained",
            where,
            epoch,
            last,
            index["patience"],
            last,
        )
        epoch = last
    elif epoch not in index["epochs"]:
        raise ConfigError(
            f"invalid config: key '{where}': epoch {epoch} was never checkpointed in {epochs_dir}; "
            f"the kept epochs are {index['epochs']}"
        )
    return Path(epochs_dir) / f"epoch{epoch}.pt"
