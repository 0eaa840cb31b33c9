"""The default optimizer (AdamW) and the per-epoch learning-rate schedulers named in the config.

``cosine`` anneals the LR to zero over ``epochs`` (CosineAnnealingLR, stepped once per epoch);
``plateau`` multiplies it by ``plateau_factor`` after ``plateau_patience`` epochs without improvement
of the monitored metric (ReduceLROnPlateau); ``none`` keeps it constant.
"""

from __future__ import annotations

from torch import nn, optim
from torch.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, ReduceLROnPlateau

from atmo.train.config import TrainConfig

Scheduler = LRScheduler | ReduceLROnPlateau


def build_optimizer(model: nn.Module, config: TrainConfig) -> optim.Optimizer:
    """AdamW over the trainable parameters with ``lr`` and ``weight_decay``."""
    params = [p for p in model.parameters() if p.requires_grad]
    return optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)


def build_scheduler(optimizer: optim.Optimizer, config: TrainConfig) -> Scheduler | None:
    """The scheduler named by ``config.scheduler`` (None for ``none``)."""
    if config.scheduler == "cosine":
        return CosineAnnealingLR(optimizer, T_max=config.epochs)
    if config.scheduler == "plateau":
        return ReduceLROnPlateau(
            optimizer, mode=config.monitor_mode, factor=config.plateau_factor, patience=config.plateau_patience
        )
    return None


def step_scheduler(scheduler: Scheduler | None, monitored: float) -> None:
    """Advance one epoch; the plateau scheduler needs the epoch's monitored value."""
    if isinstance(scheduler, ReduceLROnPlateau):
        scheduler.step(monitored)
    elif scheduler is not None:
        scheduler.step()
