"""Shared training path: every experiment trains, resumes, exports and loads its models through it.

A new experiment supplies a registry ``{arch: nn.Module class}``, datasets and a ``loss_step``; the
rest is shared. A ``<module>_train`` workflow script is, in full (``MODULE``, ``MODELS``, ``Loss`` and
``Samples`` stand for the experiment's name, registry, loss and dataset)::

    from atmo.train import model_meta, start_job, to_device, train_job, with_run_only

    start_job(snakemake.log[0], snakemake.threads)   # log file, torch threads, die with snakemake
    spec = snakemake.params.spec                     # one entry of <module>.models: {arch, params, loss}
    meta = model_meta(MODULE, spec["arch"], spec["params"], loss=spec.get("loss", {}))
    criterion = Loss(**meta["loss"])

    def loss_step(model, batch, device):             # returns the loss, or (loss, {name: tensor})
        batch = to_device(batch, device)
        return criterion(model(batch["input"]), batch["target"])

    train = with_run_only(snakemake.params.train, snakemake.config[MODULE]["train"])  # + progress, keep_checkpoints
    train_job(registry=MODELS, meta=meta, train=train,
              train_set=Samples(snakemake.input.data, "train"), val_set=Samples(..., "val"),
              loss_step=loss_step, inputs={"data": snakemake.input.data},
              model_path=snakemake.output.model)    # + history.csv, metrics.json beside it

and a rule that scores the model loads it with ``load_model(path, MODELS, MODULE, device)``.
Before any job runs, ``rules/common.smk`` builds every configured entry once on the meta device
(:func:`check_entries`), so a setting the constructor refuses stops the workflow with one line.

What the shared path guarantees:

- the run directory (``run/`` beside ``model.pt``) belongs to one fingerprint — train settings,
  ``meta``, content hashes of ``inputs`` — and one process (an OS lock); a restarted job of the same
  fingerprint resumes bitwise (CPU, fixed thread count), any other starts at epoch 1 (:mod:`~atmo.train.run_dir`);
- loss parts stay tensors on the device until the epoch ends (no host synchronisation per batch);
- ``model.pt`` holds the best epoch with ``meta`` and is loaded with ``weights_only=True``; a file
  of another module or architecture is refused in one line (:mod:`~atmo.train.model_file`).
"""

from atmo.settings.run_only import with_run_only
from atmo.train.checkpoint import load_checkpoint, save_checkpoint
from atmo.train.config import TrainConfig
from atmo.train.device import amp_enabled, resolve_device, to_device, visible_gpu_count
from atmo.train.early_stopping import EarlyStopping
from atmo.train.history import History
from atmo.train.job import count_parameters, start_job, train_job
from atmo.train.loader import make_loader, reseed_loader
from atmo.train.model_file import LoadedModel, export_model, load_model, load_trained, model_meta
from atmo.train.optim import build_optimizer, build_scheduler
from atmo.train.registry import build_model, check_entries
from atmo.train.seeding import restore_rng_state, rng_state, seed_everything, seed_worker
from atmo.train.trainer import Trainer

__all__ = [
    "EarlyStopping",
    "History",
    "LoadedModel",
    "TrainConfig",
    "Trainer",
    "amp_enabled",
    "build_model",
    "build_optimizer",
    "build_scheduler",
    "check_entries",
    "count_parameters",
    "export_model",
    "load_checkpoint",
    "load_model",
    "load_trained",
    "make_loader",
    "model_meta",
    "reseed_loader",
    "resolve_device",
    "restore_rng_state",
    "rng_state",
    "save_checkpoint",
    "seed_everything",
    "seed_worker",
    "start_job",
    "to_device",
    "train_job",
    "visible_gpu_count",
    "with_run_only",
]
