"""Send a workflow job's logging and stderr to its Snakemake log file.

Workflow scripts call :func:`log_to` first, so tracebacks, warnings and progress bars end up in
``results/logs/...`` next to the job instead of being lost on a cluster node's console.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path


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
    return logging.getLogger("atmo")
