"""Send a workflow job's logging and stderr to its Snakemake log file.

Workflow scripts call :func:`log_to` first, so tracebacks, warnings and progress bars end up in
``results/logs/...`` next to the job instead of being lost on a cluster node's console. A job that
stops on bad input (:class:`~atmo.errors.InputError`, :class:`~atmo.errors.ConfigError`) logs the
error's one line and no traceback: the user has a file or a key to fix, not code to debug.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from types import TracebackType

from atmo.errors import ConfigError, InputError


def log_to(path: str | os.PathLike[str], level: int = logging.INFO) -> logging.Logger:
    """Redirect stderr (and therefore tracebacks, warnings and tqdm) and ``logging`` to ``path``."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", buffering=1)  # noqa: SIM115 - must outlive this call
    sys.stderr = stream
    logging.basicConfig(
        level=level,
        stream=stream,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        force=True,
    )
    logging.captureWarnings(True)
    sys.excepthook = _bad_input_in_one_line
    return logging.getLogger("atmo")


def _bad_input_in_one_line(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """``atmo.errors.InputError: <path>: <problem>`` for bad input, the usual traceback for anything else."""
    if issubclass(kind, InputError | ConfigError):
        sys.stderr.write(f"{kind.__module__}.{kind.__qualname__}: {error}\n")
    else:
        sys.__excepthook__(kind, error, trace)
