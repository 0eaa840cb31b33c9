"""Send a workflow job's logging and stderr to its Snakemake log file.

Workflow scripts call :func:`log_to` first, so tracebacks, warnings and training progress end up in
``results/logs/...`` next to the job instead of being lost on a cluster node's console; the last
few attempts of each job stay readable under ``results/logs/attempts/`` after a rerun. A job that
stops on bad input (:class:`~atmo.errors.InputError`, :class:`~atmo.errors.ConfigError`) logs the
error's one line and no traceback: the user has a file or a key to fix, not code to debug.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from atmo.errors import ConfigError, InputError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Attempts of one job whose logs are kept (the newest), see :func:`keep_attempt`.
ATTEMPTS_KEPT = 5


def attempts_dir(log: Path) -> Path:
    """Where the attempts of job log ``results/logs/<module>/<rule>/<x>.log`` are kept:
    ``results/logs/attempts/<module>/<rule>/<x>/`` (beside the log when it is under no ``logs``)."""
    parts = log.parts
    if "logs" in parts:
        at = len(parts) - 1 - parts[::-1].index("logs")
        return Path(*parts[: at + 1], "attempts", *parts[at + 1 : -1], log.stem)
    return log.parent / "attempts" / log.stem


def keep_attempt(log: Path) -> Path | None:
    """Hard-link ``log`` into :func:`attempts_dir` as ``<UTC time>-<pid>.log``; keep the newest attempts.

    Snakemake deletes a job's log before it reruns the job, so the log of a failed or interrupted
    attempt would be lost with it. The hard link is the same file under a second name: every line
    the job writes is in both, it costs nothing, and it survives the deletion (and a killed job).
    Returns the link, or ``None`` where the file system cannot link (nothing is kept then).
    """
    directory = attempts_dir(log)
    link = directory / f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{os.getpid()}.log"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        os.link(log, link)
    except OSError:
        return None
    for old in sorted(directory.glob("*.log"))[:-ATTEMPTS_KEPT]:
        old.unlink(missing_ok=True)
    return link


def log_to(path: str | os.PathLike[str], level: int = logging.INFO, console: Sequence[str] = ()) -> logging.Logger:
    """Redirect stderr (and therefore tracebacks, warnings and tqdm) and ``logging`` to ``path``.

    Records of the loggers named in ``console`` also go to stdout, which Snakemake shows while the
    job runs (download progress: the log file alone is silent until someone opens it).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(path, "a", buffering=1)  # noqa: SIM115 - must outlive this call
    keep_attempt(Path(path))
    sys.stderr = stream
    logging.basicConfig(level=level, stream=stream, format=LOG_FORMAT, force=True)
    for name in console:
        to_console = logging.StreamHandler(sys.stdout)
        to_console.setFormatter(logging.Formatter(LOG_FORMAT))
        logging.getLogger(name).addHandler(to_console)
    logging.captureWarnings(True)
    sys.excepthook = _bad_input_in_one_line
    return logging.getLogger("atmo")


def _bad_input_in_one_line(kind: type[BaseException], error: BaseException, trace: TracebackType | None) -> None:
    """``atmo.errors.InputError: <path>: <problem>`` for bad input, the usual traceback for anything else."""
    if issubclass(kind, InputError | ConfigError):
        sys.stderr.write(f"{kind.__module__}.{kind.__qualname__}: {error}\n")
    else:
        sys.__excepthook__(kind, error, trace)
