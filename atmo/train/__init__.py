"""Shared training core: seeding, device choice, mixed precision, early stopping, checkpoints, resume.

Typical use in an experiment module::

    config = TrainConfig.from_dict(params["train"], where="cbh.train")
    seed_everything(config.seed, config.deterministic)      # before building the model
    model = Model(**params["model"])
    trainer = Trainer(model, config, out_dir, loss_step=loss_step, val_step=val_step, meta=params["model"])
    summary = trainer.fit(make_loader(train_set, config, shuffle=True), make_loader(val_set, config, shuffle=False))
"""

from atmo.train.checkpoint import load_checkpoint, save_checkpoint
from atmo.train.config import TrainConfig
from atmo.train.device import amp_enabled, resolve_device, to_device, visible_gpu_count
from atmo.train.early_stopping import EarlyStopping
from atmo.train.history import History
from atmo.train.loader import make_loader, reseed_loader
from atmo.train.optim import build_optimizer, build_scheduler
from atmo.train.seeding import restore_rng_state, rng_state, seed_everything, seed_worker
from atmo.train.trainer import Trainer

__all__ = [
    "EarlyStopping",
    "History",
    "TrainConfig",
    "Trainer",
    "amp_enabled",
    "build_optimizer",
    "build_scheduler",
    "load_checkpoint",
    "make_loader",
    "reseed_loader",
    "resolve_device",
    "restore_rng_state",
    "rng_state",
    "save_checkpoint",
    "seed_everything",
    "seed_worker",
    "to_device",
    "visible_gpu_count",
]
