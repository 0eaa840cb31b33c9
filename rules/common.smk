"""Config validation, path helpers and input functions shared by every module's rules."""

import copy

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from atmo.config import describe_validation_error, find_validation_error
from atmo.machine import count_local_gpus


def validate_config():
    """Validate the whole config, then each module's sub-tree on its own to fill its defaults.

    jsonschema does not apply Snakemake's default-filling to a `$ref`'d schema that declares its
    own `$schema`, so each module block (and its `train` block) is validated against its file as well. Errors become one
    line naming the key; module errors are prefixed with the module's name.
    """
    modules = ("nowcast", "cbh", "riskseg", "downscale")
    checks = [(config, "../config/schema.yaml", "")]
    checks += [(config[m], f"../config/schema/{m}.schema.yaml", m) for m in modules]
    checks += [
        (config[m]["train"], "../config/schema/train.schema.yaml", f"{m}.train")
        for m in modules
        if "train" in config[m]
    ]
    for data, schema, prefix in checks:
        try:
            validate(data, schema)
        except WorkflowError as err:
            found = find_validation_error(err)
            if found is None:
                raise
            found.path.extendleft(reversed(prefix.split(".")) if prefix else [])
            raise WorkflowError(describe_validation_error(found)) from None


validate_config()


# The `gpu` resource caps how many training jobs run at once. Unless a profile or `--resources
# gpu=N` sets it, take it from this machine: one job per GPU, and one at a time on a CPU-only
# machine (training rules declare gpu=1 and then run on the CPU, which they would oversubscribe).
if "gpu" not in workflow.global_resources:
    workflow.register_resource("gpu", max(1, count_local_gpus()))


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
