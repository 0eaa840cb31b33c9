"""Atomic file writes: an output exists complete or not at all.

Snakemake treats an existing output as done. A job killed half-way through writing must therefore
never leave a partial file at the final path: everything is written to a temporary sibling and
renamed into place (``os.replace`` is atomic within one file system).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_UMASK = os.umask(0)
os.umask(_UMASK)
# The temporary sibling atomic_path makes: ".<final name>.<8 random characters of mkstemp><suffix>".
_TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}(\.[^.]+)?$")


@contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it to ``path`` only if the block succeeds.

    The temporary name keeps the final suffix (or ``suffix``) so libraries that infer the format
    from the extension (rasterio, h5py, torch) behave as for the real file.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{final.name}.", suffix=suffix if suffix is not None else final.suffix, dir=final.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        # mkstemp creates 0600 files; give the output the permissions a plain open() would.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def atomic_directory(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new temporary directory next to ``path``; it replaces ``path`` only if the block succeeds.

    For a directory output (Snakemake's ``directory()``): a job killed while filling it leaves the
    previous directory, or none, never a partial one at the final path.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_UMASK)
        if final.exists():
            shutil.rmtree(final)
        os.replace(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def write_json(path: str | os.PathLike[str], obj: Any) -> None:
    """Write ``obj`` as indented JSON (keys sorted, so reruns give identical bytes) atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=True, allow_nan=True) + "\n")


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporaries that writers killed mid-write left in ``directory``; return them.

    An interrupted :func:`atomic_path` (SIGKILL, a cancelled SLURM job) cannot clean up after
    itself. Only a caller that knows no writer is active in ``directory`` may call this, e.g. the
    holder of its lock.
    """
    stale = [p for p in Path(directory).iterdir() if p.is_file() and _TEMPORARY.match(p.name)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale
