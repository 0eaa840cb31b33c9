"""pysteps, imported lazily and quietly, for every module that uses it.

Importing pysteps is slow and prints the path of its configuration file to stdout. At parse time
that line would break a refused config's one-line error, and in a job it litters the log; so
nothing imports pysteps at module level, and the first use imports it here with stdout captured.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import logging
from functools import cache
from types import ModuleType

log = logging.getLogger(__name__)


@cache
def pysteps_module(name: str) -> ModuleType:
    """The pysteps submodule ``name`` (e.g. ``"motion"``, ``"downscaling.rainfarm"``), imported once."""
    banner = io.StringIO()
    with contextlib.redirect_stdout(banner):
        module = importlib.import_module(f"pysteps.{name}")
    if banner.getvalue().strip():
        log.debug("pysteps import: %s", banner.getvalue().strip())
    return module
