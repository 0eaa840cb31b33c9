"""What each experiment declares for the summary, read from its own folder: the summary names no experiment.

Every experiment's ``atmo/<experiment>/spec.py`` (torch-free, so the rules may read it while
Snakemake parses the workflow) holds ``TITLE``, the heading of its summary section, and
``SOURCE_KEY``, the key of its config block that says where a real source reads from.
"""

from __future__ import annotations

import importlib
from types import ModuleType


def spec(module: str) -> ModuleType:
    """``atmo.<module>.spec``, where experiment ``module`` declares its part of the summary."""
    return importlib.import_module(f"atmo.{module}.spec")


def title(module: str) -> str:
    """The heading of ``module``'s summary section."""
    return str(spec(module).TITLE)


def source_key(module: str) -> str:
    """The key of ``module``'s config block that says where its real source reads from."""
    return str(spec(module).SOURCE_KEY)
