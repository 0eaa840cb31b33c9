"""Config validation, path helpers and input functions shared by every module's rules."""

import copy
import functools
import os
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.io import is_flagged

from atmo.check_cache import run_unless_passed
from atmo.errors import ConfigError, InputError
from atmo.io.writable import check_writable
from atmo.machine import count_local_gpus
from atmo.settings.checks import check_devices
from atmo.settings.experiments import check_module
from atmo.settings.run_only import without_run_only
from atmo.settings.workflow import MODULES, validate_workflow_config
from atmo.summary.provenance import data_source


def stop_with_one_line(error):
    """End the parse with the config error's one line on stderr and exit status 1.

    A WorkflowError would add Snakemake's header and the frames of the rule file that raised it;
    a bad config is the user's input, not the workflow's bug, so it gets the line alone.
    """
    sys.exit(str(error))


try:
    validate_workflow_config(config)
except ConfigError as error:
    stop_with_one_line(error)


# Training slots. The `gpu` resource caps how many model jobs (training, forecasting) run at once.
# Unless a profile or `--resources gpu=N` sets it: one job per visible GPU, each with
# cores // GPUs torch threads; on a CPU-only machine one job per core, each with one thread —
# small models scale badly over threads (measured on 2 cores: 2 threads train 1.3-1.45x faster
# than 1, two 1-thread jobs side by side 1.9x), so CPU-only runs use their cores for more jobs.
LOCAL_GPUS = count_local_gpus()
GPUS_GIVEN = "gpu" in workflow.global_resources
if not GPUS_GIVEN:
    workflow.register_resource("gpu", LOCAL_GPUS or max(1, workflow.cores or 1))
MODEL_THREADS = max(1, (workflow.cores or 1) // LOCAL_GPUS) if LOCAL_GPUS else 1


RESULTS = "results"
RESOURCES = "resources"
LOGS = "results/logs"
BENCHMARKS = "results/benchmarks"
# The workflow code hashed with atmo's into the key of a remembered config check (atmo/check_cache.py).
WORKFLOW_CODE = tuple(sorted(Path(workflow.basedir, "rules").glob("*.smk")))

# Every settings block of each module built, with the rules across keys (atmo/settings/experiments.py),
# before any job: checked by the snakemake the user started, remembered per module block like the
# model checks; the device and write checks depend on this machine, so they always run (they are cheap).
if workflow.is_main_process:
    try:
        for module in config["modules"]:
            run_unless_passed(
                f"{module}-blocks",
                config[module],
                functools.partial(check_module, module, config[module]),
                WORKFLOW_CODE,
            )
        if not GPUS_GIVEN:
            check_devices(config, config["modules"], LOCAL_GPUS)
        check_writable(
            [
                RESULTS,
                RESOURCES,
                *(f"{RESULTS}/{module}" for module in config["modules"]),
            ]
        )
    except (ConfigError, InputError) as error:
        stop_with_one_line(error)


def config_section(module, *keys):
    """A deep copy of ``config[module][key]...``: the only config a rule's ``params:`` may carry.

    Passing just this sub-tree makes Snakemake's params rerun trigger exact: editing one
    experiment's settings reruns that experiment's jobs and nothing else.
    """
    node = config[module]
    for key in keys:
        node = node[key]
    return copy.deepcopy(node)


def train_section(module, *keys):
    """A training rule's ``params`` part of ``config[module][...]["train"]``: without its run-only keys.

    ``progress`` and ``keep_checkpoints`` change no exported weights, so editing them must rerun no
    job; the workflow script adds them back from the config (``atmo.settings.run_only.with_run_only``).
    """
    return without_run_only(config_section(module, *keys, "train"))


TARGETS = {}


def register_targets(module, targets_function):
    """Each module's .smk registers the function that lists its final outputs for `rule all`."""
    TARGETS[module] = targets_function


def all_targets(wildcards):
    """Final outputs of every module enabled in ``config['modules']``."""
    return [path for module in config["modules"] for path in TARGETS[module](wildcards)]


COMPARISONS = {}


def register_comparisons(module, unit_stats, kinds, settings):
    """Each module's .smk registers what rule ``comparisons`` (rules/comparisons.smk) compares.

    ``unit_stats()`` -> ``{entry: {seed: path}}``, ``kinds()`` -> ``{entry: kind}``, ``settings()``
    -> the config its ``atmo.<module>.comparison.plan`` reads (only that: its params rerun the rule).
    """
    COMPARISONS[module] = {
        "unit_stats": unit_stats,
        "kinds": kinds,
        "settings": settings,
    }


def comparison_module(wildcards):
    """The module whose comparisons the job computes."""
    return wildcards.module


def comparison_unit_stats(wildcards):
    """``{entry: {seed: path}}`` of ``wildcards.module``."""
    return COMPARISONS[wildcards.module]["unit_stats"]()


def comparison_unit_files(wildcards):
    """Every unit statistics file of ``wildcards.module``, flat (the rule's input)."""
    return sorted(
        path
        for by_seed in comparison_unit_stats(wildcards).values()
        for path in by_seed.values()
    )


def comparison_kinds(wildcards):
    """``{entry: kind}`` of ``wildcards.module``."""
    return COMPARISONS[wildcards.module]["kinds"]()


def comparison_settings(wildcards):
    """The config the module's comparison plan reads."""
    return COMPARISONS[wildcards.module]["settings"]()


def comparison_bootstrap(wildcards):
    """``<module>.bootstrap``: replicates, level, seed and block length."""
    return config_section(wildcards.module, "bootstrap")


def summary_inputs(wildcards):
    """Each enabled module's comparisons file the summary reads, plus every final target (run order)."""
    inputs = {"targets": all_targets(wildcards)}
    for module in config["modules"]:
        inputs[module] = f"{RESULTS}/{module}/comparisons.json"
    return inputs


def summary_sources():
    """Per enabled module: its data source and, for a real one, where it reads from."""
    return {module: data_source(module, config[module]) for module in config["modules"]}


def summary_config_files():
    """The config files, relative to the working directory: a copied run dir is not a config change."""
    return [os.path.relpath(path) for path in workflow.configfiles]


def report_table_pages():
    """The HTML page (rule report_table_page) of every markdown table a module registers with report().

    Snakemake's report only offers markdown files for download; their pages make the tables
    readable in the report itself. Read from the parsed rules, so a new registered table gets its
    page without being listed anywhere else.
    """
    pages = set()
    for parsed in workflow.rules:
        for path in parsed.output:
            if not (is_flagged(path, "report") and path.endswith(".md")):
                continue
            if path == f"{RESULTS}/summary.md":
                continue
            # rule comparisons' output, its {module} wildcard carrying the rule's constraint
            if path.startswith(f"{RESULTS}/{{module") and path.endswith(
                "}/comparisons.md"
            ):
                pages.update(
                    f"{RESULTS}/{module}/comparisons.html"
                    for module in config["modules"]
                )
                continue
            if (
                Path(path).parent.name not in MODULES
                or path.count("/") != 2
                or "{" in path
            ):
                raise WorkflowError(
                    f"report table {path} of rule {parsed.name} is not results/<module>/<name>.md, "
                    "the place rule report_table_page renders"
                )
            pages.add(path[: -len(".md")] + ".html")
    return sorted(pages)
