"""A training run directory belongs to one fingerprint and to one writer at a time.

The run directory (``last.pt``, ``best.pt``, periodic checkpoints, ``history.csv``) is not a
Snakemake output: it outlives a killed job so that the restarted job can resume. That is only sound
while it holds the run the job would produce now. So every run directory records a *fingerprint*
of everything that determines its numbers — the resolved train settings, the model entry (``meta``)
and the content hashes of the input files — in ``fingerprint.json``:

- same fingerprint: the job resumes from ``last.pt`` (bitwise equal to an uninterrupted run on CPU
  at a fixed thread count);
- any other fingerprint (an edited model setting, new data, a run directory without a fingerprint):
  the old directory is removed and training starts at epoch 1, with one log line saying what
  changed.

A second trainer on the same directory (an orphan of a killed ``snakemake``, or a rerun after
``--unlock``) would interleave checkpoints with the first. :func:`claim_run_dir` therefore takes an
exclusive OS file lock (``fcntl.flock``) on ``<run>.lock`` beside the directory; the kernel drops it
when the holder dies, however it dies, so a stale lock never blocks a restart. A holder that ends
normally removes the file; one that was killed leaves it behind, unlocked, for the next to reuse. A trainer that finds
the lock taken stops at once, naming the process that holds it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import shutil
import socket
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from atmo.errors import InputError
from atmo.io.atomic import remove_stale_temporaries, write_json
from atmo.io.download import sha256_of

log = logging.getLogger(__name__)

FINGERPRINT_FILE = "fingerprint.json"


def run_fingerprint(
    train: Mapping[str, Any], meta: Mapping[str, Any], inputs: Mapping[str, str | os.PathLike[str]]
) -> dict[str, Any]:
    """The parts that determine a run's numbers: ``train`` settings, model ``meta``, input hashes.

    ``inputs`` maps a role (``"train"``, ``"val"``) to a file; the file's *content* counts, not its
    path or modification time, so regenerating identical data keeps the run and new data discards it.
    """
    return {
        "train": dict(train),
        "meta": json.loads(json.dumps(meta, sort_keys=True)),
        "inputs": {role: sha256_of(path) for role, path in sorted(inputs.items())},
    }


def fingerprint_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between two fingerprints, e.g. ``["meta.params.base_channels"]``."""
    changes: list[str] = []

    def walk(a: Any, b: Any, where: str) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in sorted(set(a) | set(b), key=str):
                walk(a.get(key), b.get(key), f"{where}.{key}" if where else str(key))
        elif a != b:
            changes.append(where or "<all>")

    walk(old, new, "")
    return changes


@contextlib.contextmanager
def claim_run_dir(run_dir: str | os.PathLike[str], fingerprint: Mapping[str, Any]) -> Iterator[Path]:
    """Lock ``run_dir`` for this process and make sure it holds ``fingerprint``'s run (or nothing).

    Raises :class:`InputError` at once if another live process holds the lock. The lock is released
    when the block ends or the process dies.
    """
    run_dir = Path(run_dir)
    run_dir.parent.mkdir(parents=True, exist_ok=True)
    lock_path = run_dir.with_name(run_dir.name + ".lock")
    with open(lock_path, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "an unknown process"
            raise InputError(
                run_dir, f"is being written by {holder} (lock {lock_path}); stop that trainer or wait for it"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(f"process {os.getpid()} on {socket.gethostname()}\n")
        lock.flush()
        try:
            _ensure_fingerprint(run_dir, dict(fingerprint))
            if run_dir.is_dir():
                for path in remove_stale_temporaries(run_dir):
                    log.warning("removed %s, left by a writer that was stopped mid-write", path)
            yield run_dir
        finally:
            lock_path.unlink(missing_ok=True)  # locked until closed; a later claimer recreates it


def _ensure_fingerprint(run_dir: Path, fingerprint: dict[str, Any]) -> None:
    """Keep ``run_dir`` if it was made by ``fingerprint``; otherwise remove it and start it anew."""
    path = run_dir / FINGERPRINT_FILE
    normalised = json.loads(json.dumps(fingerprint, sort_keys=True))
    if run_dir.exists():
        reason = _stale_reason(run_dir, path, normalised)
        if reason is None and path.exists():
            return
        if reason is not None:
            log.warning("starting %s afresh from epoch 1: %s", run_dir, reason)
            shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(path, normalised)


def _stale_reason(run_dir: Path, path: Path, fingerprint: dict[str, Any]) -> str | None:
    """Why the existing ``run_dir`` cannot be resumed, or ``None`` if it can."""
    if not path.exists():
        return "it has no fingerprint.json" if any(run_dir.iterdir()) else None
    try:
        old = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as error:
        return f"its {FINGERPRINT_FILE} is unreadable ({error})"
    changes = fingerprint_changes(old, fingerprint)
    if not changes:
        return None
    shown = ", ".join(changes[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")
    return f"it was trained with different settings or inputs (changed: {shown})"
