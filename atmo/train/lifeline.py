"""End a training process when the workflow that started it dies.

``kill -9`` on ``snakemake`` leaves its running jobs behind: they are reparented and keep writing
their run directories, unseen. A restarted workflow would then start a second trainer on the same
directory. The run-directory lock (:mod:`atmo.train.run_dir`) makes the second one stop; this
module makes the orphan go away, so that the restart can proceed.

:func:`exit_with_workflow` watches one process — the nearest ancestor whose command line runs
``snakemake``, or the parent if there is none — from a daemon thread, and ends this process with
exit status 137 (as if killed) once it is gone. Only that ancestor is watched, not the whole chain:
a workflow started with ``nohup`` must survive its login shell.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)

ORPHANED_EXIT_STATUS = 137


def _parent_of(pid: int) -> int | None:
    """Parent pid from ``/proc/<pid>/stat`` (Linux), or ``None`` if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is parenthesised and may contain spaces: split after its ')'.
    return int(stat.rsplit(")", 1)[1].split()[1])


def _runs_snakemake(pid: int) -> bool:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return any(Path(arg.decode(errors="replace")).name.startswith("snakemake") for arg in argv[:3])


def watched_ancestor(pid: int | None = None) -> int:
    """The nearest ancestor of ``pid`` (default: this process) running snakemake, else its parent."""
    pid = os.getpid() if pid is None else pid
    parent = os.getppid() if pid == os.getpid() else (_parent_of(pid) or 1)
    ancestor = parent
    while ancestor not in (None, 0, 1):
        if _runs_snakemake(ancestor):
            return ancestor
        ancestor = _parent_of(ancestor)
    return parent


def _alive(pid: int) -> bool:
    """Whether ``pid`` still runs: a zombie (dead, not yet reaped by its parent) counts as gone."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc (not Linux): existence is all we can tell
    return state not in ("Z", "X")


def exit_with_workflow(poll_seconds: float = 1.0) -> int | None:
    """Start the watcher thread; returns the watched pid (``None`` when already orphaned)."""
    watched = watched_ancestor()
    if watched <= 1:
        return None
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(poll_seconds):
            if not _alive(watched):
                break
        log.error("the workflow process %d that started this job is gone: stopping", watched)
        logging.shutdown()
        os._exit(ORPHANED_EXIT_STATUS)

    threading.Thread(target=watch, name="exit-with-workflow", daemon=True).start()
    log.info("this job ends if process %d (its workflow) dies", watched)
    return watched
