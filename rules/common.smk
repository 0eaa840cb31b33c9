"""Config validation, path helpers and input functions shared by every module's rules."""

import copy
from pathlib import Path

from snakemake.exceptions import WorkflowError

from atmo.errors import ConfigError
from atmo.machine import count_local_gpus
from atmo.workflow_config import validate_workflow_config

try:
    validate_workflow_config(config, Path(workflow.basedir) / "config")
except ConfigError as error:
    raise WorkflowError(str(error)) from None


# Training slots. The `gpu` resource caps how many model jobs (training, forecasting) run at once.
# Unless a profile or `--resources gpu=N` sets it: one job per visible GPU, each with
# cores // GPUs torch threads; on a CPU-only machine one job per core, each with one thread —
# small models scale badly over threads (measured on 2 cores: 2 threads train 1.3-1.45x faster
# than 1, two 1-thread jobs side by side 1.9x), so CPU-only runs use their cores for more jobs.
LOCAL_GPUS = count_local_gpus()
if "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", LOCAL_GPUS or max(1, workflow.cores or 1))
MODEL_THREADS = max(1, (workflow.cores or 1) // LOCAL_GPUS) if LOCAL_GPUS else 1


RESULTS = "results"
RESOURCES = "resources"
LOGS = "results/logs"
BENCHMARKS = "results/benchmarks"


def config_section(module, *keys):
    """A deep copy of ``config[module][key]...``: the only config a rule's ``params:`` may carry.

    Passing just this sub-tree makes Snakemake's params rerun trigger exact: editing one
    experiment's settings reruns that experiment's jobs and nothing else.
    """
    node = config[module]
    for key in keys:
        node = node[key]
    return copy.deepcopy(node)


TARGETS = {}


def register_targets(module, targets_function):
    """Each module's .smk registers the function that lists its final outputs for `rule all`."""
    TARGETS[module] = targets_function


def all_targets(wildcards):
    """Final outputs of every module enabled in ``config['modules']``."""
    return [path for module in config["modules"] for path in TARGETS[module](wildcards)]
