"""nowcast's forecasters and their runs, named here only: the rules name every file after them and the
table job reads them back by name and seed label.

A forecaster is an entry of ``nowcast.models`` (kind ``model`` or ``ablation``, one run per seed),
a baseline of ``nowcast.baselines`` or, on the synthetic source, the generator's oracle (both
deterministic: one run, under :data:`DETERMINISTIC_SEED`). A run ``<name>/seed<S>`` is the path stem
of its forecast, scores and unit statistics. Torch-free: the rules import it while Snakemake parses
the workflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The one seed label of a deterministic forecaster (a baseline, the oracle).
DETERMINISTIC_SEED = "0"
#: The synthetic generator's own forecast (:mod:`atmo.nowcast.oracle`): what its data allow.
ORACLE = "oracle"


def run_name(name: str, seed: int | str) -> str:
    """``sgt/seed1``: the path stem of one forecaster's run."""
    return f"{name}/seed{seed}"


def oracles(block: Mapping[str, Any]) -> list[str]:
    """:data:`ORACLE` on the synthetic source, else none (real SEVIR has no generator)."""
    return [ORACLE] if block["source"] == "synthetic" else []


def kinds(block: Mapping[str, Any]) -> dict[str, str]:
    """Every forecaster's role in the tables: its ``kind`` for a model entry, ``baseline``, ``oracle``."""
    return {
        **{name: spec["kind"] for name, spec in block["models"].items()},
        **dict.fromkeys(block["baselines"], "baseline"),
        **dict.fromkeys(oracles(block), "oracle"),
    }


def seed_labels(block: Mapping[str, Any]) -> dict[str, list[str]]:
    """``{forecaster: [seed label]}``: each model entry's ``seeds``, one label for a deterministic forecaster."""
    return {
        **{name: [str(seed) for seed in spec["seeds"]] for name, spec in block["models"].items()},
        **{name: [DETERMINISTIC_SEED] for name in (*block["baselines"], *oracles(block))},
    }
