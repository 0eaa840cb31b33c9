"""The train settings that change what a run shows and keeps on disk, never the weights it exports.

The train schema marks them ``x-run-only: true``. They stay out of the run fingerprint (a resumed
run may differ in them) and out of a training rule's ``params:`` (editing them reruns nothing; the
job script adds them back from the config). This module is torch-free because ``rules/common.smk``
imports it while Snakemake parses the workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atmo.settings.schema import node

RUN_ONLY_KEYS: tuple[str, ...] = tuple(
    key for key, spec in node("train").schema["properties"].items() if spec.get("x-run-only")
)


def without_run_only(block: Mapping[str, Any]) -> dict[str, Any]:
    """``block`` less :data:`RUN_ONLY_KEYS`: the part of a ``train:`` block a rule's ``params`` carry."""
    return {key: value for key, value in block.items() if key not in RUN_ONLY_KEYS}


def with_run_only(params_block: Mapping[str, Any], config_block: Mapping[str, Any]) -> dict[str, Any]:
    """The ``train:`` block a job trains with: its rule's ``params`` plus the run-only keys the config sets."""
    return {**params_block, **{key: config_block[key] for key in RUN_ONLY_KEYS if key in config_block}}
