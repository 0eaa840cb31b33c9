"""The epoch loop every experiment trains with: validation, early stopping, checkpoints, resume.

A model module supplies only what is specific to it — ``loss_step(model, batch, device)`` and
optionally ``val_step(model, batch, device)`` — and :class:`Trainer` does the rest identically for
all experiments. ``out_dir`` receives:

- ``checkpoints/epoch_0005.pt`` every ``checkpoint_every`` epochs, ``best.pt`` whenever the
  monitored metric improves, ``last.pt`` after every epoch (with the full training state);
  of the periodic checkpoints only the newest ``keep_checkpoints`` are kept, with the best epoch's
  and the ``keep_epochs`` a module samples later (a B4 U-Net is 74 MB a file: keeping every epoch
  of every seed filled a CI disk);
- ``history.csv`` (rewritten after every epoch) and ``metrics.json`` (at the end).

``out_dir`` is claimed for one fingerprint (train settings, ``meta``, content hashes of
``inputs``) and one process (:mod:`atmo.train.run_dir`). If it holds a ``last.pt`` of the same
fingerprint (a killed job restarted), training continues from it: weights, optimizer, scheduler,
AMP scaler, early-stopping counters, history and RNG states are restored and each epoch's batches
come from a loader re-seeded with ``seed + epoch``, so on CPU at a fixed thread count the final
weights are bitwise those of an uninterrupted run. A run of any other fingerprint is removed and
training starts at epoch 1.

A ``last.pt`` that cannot be read (cut short by a full disk, a copy or a crash outside the atomic
write) is not the end of the run: training resumes from the newest readable periodic checkpoint,
which carries the same training state, or, when none is usable, starts afresh; one warning line
says which.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn, optim

from atmo.errors import InputError
from atmo.io.atomic import atomic_path, write_json
from atmo.settings.run_only import without_run_only
from atmo.train.checkpoint import load_checkpoint, save_checkpoint
from atmo.train.config import TrainConfig
from atmo.train.device import amp_enabled, resolve_device
from atmo.train.early_stopping import EarlyStopping
from atmo.train.history import History
from atmo.train.loader import reseed_loader
from atmo.train.optim import build_optimizer, build_scheduler, step_scheduler
from atmo.train.progress import epoch_progress
from atmo.train.run_dir import claim_run_dir, run_fingerprint
from atmo.train.seeding import restore_rng_state, rng_state, seed_everything

log = logging.getLogger(__name__)

LossOutput = torch.Tensor | tuple[torch.Tensor, Mapping[str, Any]]
LossStep = Callable[[nn.Module, Any, torch.device], LossOutput]
ValStep = Callable[[nn.Module, Any, torch.device], Mapping[str, Any]]
EpochCallback = Callable[[int, dict[str, Any]], None]
ValSummary = Callable[[Mapping[str, float]], Mapping[str, float]]


class Trainer:
    """Train ``model`` with ``config``, writing checkpoints, history and metrics to ``out_dir``.

    ``loss_step(model, batch, device)`` returns the scalar training loss, or ``(loss, extras)`` where
    ``extras`` are per-batch means logged as ``train_<name>``; it moves the batch to ``device``
    itself (see :func:`atmo.train.device.to_device`). ``val_step(model, batch, device)`` returns
    per-batch means such as ``{"loss": ..., "mse": ...}``, logged as ``val_<name>``; without it,
    validation runs ``loss_step`` and logs ``val_loss`` (and ``val_<extra>``). A score that is not a
    mean over batches (CSI is a ratio of counts summed over the whole split) comes from
    ``val_summary(means)``, called once after each validation pass with the epoch's means: it returns
    the score from whatever ``val_step`` accumulated (for CSI: the contingency counts), and
    its keys are logged as ``val_<name>`` too. Both run under
    ``torch.autocast`` when mixed precision is on; validation also under ``torch.no_grad``.

    ``optimizer`` defaults to AdamW(lr, weight_decay). ``meta`` is plain data (e.g. the model's
    constructor arguments) stored in every checkpoint. ``inputs`` maps a role to a data file whose
    content the run depends on. Config (bar its run-only keys, ``progress`` and ``keep_checkpoints``),
    ``meta`` and the inputs' hashes form the run's fingerprint: only a run directory of the same
    fingerprint is resumed.
    ``callbacks`` are called as ``fn(epoch, row)`` after each epoch's files are written.
    ``keep_epochs`` are periodic checkpoints never pruned (epochs a module copies out afterwards).
    Every epoch ends with one log line: its losses, validation metrics, learning rate and seconds.
    ``progress`` adds a bar while an epoch runs on a terminal, or a line a minute in a log file
    (:mod:`atmo.train.progress`).
    """

    def __init__(
        self,
        model: nn.Module,
        config: TrainConfig,
        out_dir: str | os.PathLike[str],
        *,
        loss_step: LossStep,
        val_step: ValStep | None = None,
        val_summary: ValSummary | None = None,
        optimizer: optim.Optimizer | None = None,
        meta: Mapping[str, Any] | None = None,
        inputs: Mapping[str, str | os.PathLike[str]] | None = None,
        callbacks: Sequence[EpochCallback] = (),
        keep_epochs: Collection[int] = (),
    ) -> None:
        self.config = config
        self.out_dir = Path(out_dir)
        self.device = resolve_device(config.device)
        self.amp = amp_enabled(config.amp, self.device)
        self.model = model.to(self.device)
        self.loss_step = loss_step
        self.val_step = val_step
        self.val_summary = val_summary
        self.optimizer = optimizer if optimizer is not None else build_optimizer(self.model, config)
        self.scheduler = build_scheduler(self.optimizer, config)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.meta = dict(meta or {})
        self.inputs = dict(inputs or {})
        self.callbacks = tuple(callbacks)
        self.keep_epochs = frozenset(int(epoch) for epoch in keep_epochs)
        self.stopper = EarlyStopping(config.monitor_mode, config.patience)
        self.history = History()
        log.info("training on %s (mixed precision %s)", self.device, "on" if self.amp else "off")

    @property
    def last_path(self) -> Path:
        return self.out_dir / "last.pt"

    @property
    def best_path(self) -> Path:
        return self.out_dir / "best.pt"

    def checkpoint_path(self, epoch: int) -> Path:
        return self.out_dir / "checkpoints" / f"epoch_{epoch:04d}.pt"

    def fit(self, train_loader: Iterable[Any], val_loader: Iterable[Any] | None = None) -> dict[str, Any]:
        """Run (or resume) training; return the summary also written to ``metrics.json``."""
        cfg = self.config
        if cfg.monitor.startswith("val_") and val_loader is None:
            raise InputError("train.monitor", f"monitors {cfg.monitor!r} but no validation loader was given")
        if hasattr(train_loader, "__len__") and len(train_loader) == 0:
            raise InputError("train_loader", "yields no batches (dataset smaller than one batch with drop_last?)")
        seed_everything(cfg.seed, cfg.deterministic)
        settings = without_run_only(cfg.to_dict())
        with claim_run_dir(self.out_dir, run_fingerprint(settings, self.meta, self.inputs)):
            if cfg.epochs == 0:
                return self._evaluate_untrained(val_loader)
            start, finished = self._resume_point()
            epoch = start
            while not finished:
                row = self._run_epoch(epoch, train_loader, val_loader)
                finished = self.stopper.should_stop or epoch == cfg.epochs
                self._save_epoch(epoch, row, finished)
                for callback in self.callbacks:
                    callback(epoch, row)
                epoch += 1
            return self._summarise()

    def _evaluate_untrained(self, val_loader: Iterable[Any] | None) -> dict[str, Any]:
        """``epochs: 0``: validate the seed's initial weights once and save them as epoch 0.

        The untrained model is the control that says what training adds (for the SGT: the motion
        prior alone); it goes through the same validation, files and export as a trained one.
        """
        started = time.perf_counter()
        row: dict[str, Any] = {"epoch": 0}
        if val_loader is not None:
            row.update(_prefixed("val_", self._validate(val_loader)))
        if self.config.monitor in row:
            self.stopper.update(row[self.config.monitor], 0)
        row.update(lr=0.0, seconds=round(time.perf_counter() - started, 3))
        self.history.append(row)
        weights = self._weights(0, row)
        save_checkpoint(self.best_path, **weights)
        save_checkpoint(self.last_path, **weights)
        self.history.write_csv(self.out_dir / "history.csv")
        log.info("epochs: 0, the initial weights exported untrained: %s", row)
        return self._summarise()

    # -- one epoch ---------------------------------------------------------------------------------

    def _run_epoch(self, epoch: int, train_loader: Iterable[Any], val_loader: Iterable[Any] | None) -> dict[str, Any]:
        cfg = self.config
        started = time.perf_counter()
        lr = self.optimizer.param_groups[0]["lr"]
        if hasattr(train_loader, "generator"):
            reseed_loader(train_loader, cfg.seed + epoch)
        row: dict[str, Any] = {"epoch": epoch}
        row.update(_prefixed("train_", self._train(epoch, train_loader)))
        if val_loader is not None:
            row.update(_prefixed("val_", self._validate(val_loader)))
        if not math.isfinite(row["train_loss"]):
            raise FloatingPointError(f"training loss is {row['train_loss']} at epoch {epoch}: the run diverged")
        if cfg.monitor not in row:
            names = sorted(key for key in row if key != "epoch")
            raise InputError("train.monitor", f"metric {cfg.monitor!r} is not produced; available: {names}")
        self.stopper.update(row[cfg.monitor], epoch)
        step_scheduler(self.scheduler, row[cfg.monitor])
        row.update(lr=lr, seconds=round(time.perf_counter() - started, 3))
        self.history.append(row)
        log.info(
            "epoch %d/%d %s",
            epoch,
            cfg.epochs,
            " ".join(f"{key}={value:.6g}" for key, value in row.items() if key != "epoch"),
        )
        return row

    def _train(self, epoch: int, loader: Iterable[Any]) -> dict[str, float]:
        self.model.train()
        meter = _Meter()
        if self.config.progress:
            loader = epoch_progress(loader, f"epoch {epoch}/{self.config.epochs}")
        for batch in loader:
            self.optimizer.zero_grad(set_to_none=True)
            with torch.autocast(self.device.type, enabled=self.amp):
                loss, extras = _split(self.loss_step(self.model, batch, self.device))
            self.scaler.scale(loss).backward()
            if self.config.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), self.config.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            meter.add({"loss": loss, **extras}, _batch_len(batch))
        return meter.means()

    @torch.no_grad()
    def _validate(self, loader: Iterable[Any]) -> dict[str, float]:
        self.model.eval()
        meter = _Meter()
        for batch in loader:
            with torch.autocast(self.device.type, enabled=self.amp):
                if self.val_step is not None:
                    metrics = dict(self.val_step(self.model, batch, self.device))
                else:
                    loss, extras = _split(self.loss_step(self.model, batch, self.device))
                    metrics = {"loss": loss, **extras}
            meter.add(metrics, _batch_len(batch))
        means = meter.means()
        return means if self.val_summary is None else {**means, **self.val_summary(means)}

    # -- files -------------------------------------------------------------------------------------

    def _weights(self, epoch: int, row: dict[str, Any]) -> dict[str, Any]:
        """What every checkpoint of ``epoch`` holds besides the training state."""
        return {"model": self.model, "config": self.config.to_dict(), "epoch": epoch, "metrics": row, "meta": self.meta}

    def _save_epoch(self, epoch: int, row: dict[str, Any], finished: bool) -> None:
        cfg = self.config
        common = self._weights(epoch, row)
        if self.stopper.best_epoch == epoch:
            save_checkpoint(self.best_path, **common)
        state = {
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict() if self.scheduler is not None else {},
            "scaler": self.scaler.state_dict(),
            "early_stopping": self.stopper.state_dict(),
            "history": self.history.rows,
            "rng": rng_state(),
            "finished": finished,
        }
        if epoch % cfg.checkpoint_every == 0:  # with the state: a fallback if last.pt is ever damaged
            save_checkpoint(self.checkpoint_path(epoch), **common, state=state)
        save_checkpoint(self.last_path, **common, state=state)
        self._prune_checkpoints(epoch)
        self.history.write_csv(self.out_dir / "history.csv")

    def _kept_epochs(self, epoch: int) -> list[int]:
        """The periodic checkpoint epochs up to ``epoch`` the run keeps (all when ``keep_checkpoints`` is null)."""
        every, keep = self.config.checkpoint_every, self.config.keep_checkpoints
        periodic = list(range(every, epoch + 1, every))
        if keep is None:
            return periodic
        protected = self.keep_epochs | {self.stopper.best_epoch}
        return [e for rank, e in enumerate(reversed(periodic)) if rank < keep or e in protected][::-1]

    def _prune_checkpoints(self, epoch: int) -> None:
        """Delete periodic checkpoints the run no longer keeps, after ``last.pt`` of ``epoch`` is safely written."""
        kept = {self.checkpoint_path(e) for e in self._kept_epochs(epoch)}
        for path in self.out_dir.glob("checkpoints/epoch_*.pt"):
            if path not in kept:
                path.unlink(missing_ok=True)

    def _resume_point(self) -> tuple[int, bool]:
        """(first epoch to run, whether training is done): from ``last.pt``, a fallback, or a fresh start."""
        if not self.last_path.exists():
            return 1, False
        try:
            checkpoint = load_checkpoint(self.last_path)  # on CPU: RNG states must stay there
        except InputError as damaged:
            return self._resume_after_damage(damaged)
        return self._resume(self.last_path, checkpoint)

    def _resume_after_damage(self, damaged: InputError) -> tuple[int, bool]:
        """Resume from the newest readable periodic checkpoint whose best epoch can be restored, else start afresh.

        The fallback's early-stopping state names its best epoch; ``best.pt`` must hold that epoch's
        weights (it may hold a later one from the damaged run), so it is kept when it matches and
        rewritten from that epoch's periodic checkpoint when one exists; otherwise the fallback is
        not used.
        """
        for path in sorted(self.out_dir.glob("checkpoints/epoch_*.pt"), reverse=True):
            try:
                checkpoint = load_checkpoint(path)
            except InputError:
                continue
            if "state" in checkpoint and self._restore_best(checkpoint["state"]["early_stopping"]["best_epoch"]):
                log.warning("%s; resuming from %s instead", damaged, path)
                return self._resume(path, checkpoint)
        log.warning("%s; no intact periodic checkpoint to resume from: training starts afresh at epoch 1", damaged)
        self.best_path.unlink(missing_ok=True)
        return 1, False

    def _restore_best(self, best_epoch: int | None) -> bool:
        """Make ``best.pt`` hold epoch ``best_epoch``'s weights; False when no readable copy of them exists."""
        if best_epoch is None:
            self.best_path.unlink(missing_ok=True)
            return True
        with contextlib.suppress(InputError):
            if self.best_path.exists() and load_checkpoint(self.best_path)["epoch"] == best_epoch:
                return True
        source = self.checkpoint_path(best_epoch)
        try:
            load_checkpoint(source)
        except InputError:
            return False
        with atomic_path(self.best_path) as tmp:
            shutil.copyfile(source, tmp)
        return True

    def _resume(self, path: Path, checkpoint: dict[str, Any]) -> tuple[int, bool]:
        """Restore everything from ``checkpoint`` (read from ``path``); return (first epoch to run, done)."""
        if "state" not in checkpoint:
            raise InputError(path, "has no training state (not a last.pt written by atmo.train.Trainer)")
        state = checkpoint["state"]
        try:
            self.model.load_state_dict(checkpoint["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.scheduler is not None:
                self.scheduler.load_state_dict(state["scheduler"])
            self.scaler.load_state_dict(state["scaler"])
            self.stopper.load_state_dict(state["early_stopping"])
            self.history = History(state["history"])
            restore_rng_state(state["rng"])
        except (KeyError, ValueError, RuntimeError, TypeError) as error:
            raise InputError(path, f"cannot restore the training state ({type(error).__name__}: {error})") from error
        epoch = int(checkpoint["epoch"])
        lost = [str(p) for p in map(self.checkpoint_path, self._kept_epochs(epoch)) if not p.exists()]
        if lost:  # e.g. deleted by Snakemake as outputs of the failed job; they cannot be recreated
            log.warning("resuming without earlier periodic checkpoints %s", lost)
        log.info("resuming from %s after epoch %d%s", path, epoch, " (already finished)" if state["finished"] else "")
        return epoch + 1, bool(state["finished"])

    def _summarise(self) -> dict[str, Any]:
        cfg = self.config
        last = self.history.rows[-1]
        best_epoch = self.stopper.best_epoch
        summary: dict[str, Any] = {
            "monitor": cfg.monitor,
            "monitor_mode": cfg.monitor_mode,
            "best_epoch": best_epoch,
            "best_value": self.stopper.best if best_epoch is not None else None,
            "epochs_run": last["epoch"],
            "stopped_early": last["epoch"] < cfg.epochs,
            "device": self.device.type,
            "seconds": round(sum(row["seconds"] for row in self.history.rows), 3),
        }
        best_row = self.history.row(best_epoch) if best_epoch is not None else {}
        for name in self.history.metric_names():
            summary[f"final_{name}"] = last.get(name)
            summary[f"best_{name}"] = best_row.get(name)
        write_json(self.out_dir / "metrics.json", summary)
        return summary


class _Meter:
    """Sample-weighted running means; tensors stay on the device until the end of the epoch so the
    loop does not synchronise with the GPU after every batch."""

    def __init__(self) -> None:
        self.sums: dict[str, Any] = {}
        self.counts: dict[str, int] = {}

    def add(self, values: Mapping[str, Any], n: int) -> None:
        for key, value in values.items():
            value = value.detach().float() if isinstance(value, torch.Tensor) else float(value)
            self.sums[key] = self.sums.get(key, 0.0) + value * n
            self.counts[key] = self.counts.get(key, 0) + n

    def means(self) -> dict[str, float]:
        return {key: float(total) / self.counts[key] for key, total in self.sums.items()}


def _split(output: LossOutput) -> tuple[torch.Tensor, dict[str, Any]]:
    """``loss`` or ``(loss, extras)`` -> ``(loss, extras)``."""
    if isinstance(output, tuple):
        loss, extras = output
        return loss, dict(extras)
    return output, {}


def _batch_len(batch: Any) -> int:
    """Samples in ``batch``: the leading size of its first tensor (1 if it holds none)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0]) if batch.ndim else 1
    if isinstance(batch, Mapping):
        batch = list(batch.values())
    if isinstance(batch, list | tuple):
        for item in batch:
            if isinstance(item, torch.Tensor | Mapping | list | tuple):
                return _batch_len(item)
    return 1


def _prefixed(prefix: str, metrics: Mapping[str, float]) -> dict[str, float]:
    return {f"{prefix}{key}": value for key, value in metrics.items()}
