"""Whether the workflow can write where it will put its files, known before any job starts.

A ``results`` (or ``resources``) folder that cannot be written (read-only mount, ``chattr +i``,
another user's checkout) otherwise surfaces deep inside Snakemake, as a long internal traceback,
after the first job ran. Creating and deleting one small file in each existing folder is cheap and
also catches the cases permission bits do not show (immutable flags, read-only file systems, root).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from atmo.errors import InputError


def check_writable(directories: Iterable[str | os.PathLike[str]]) -> None:
    """Raise :class:`InputError` naming the first existing directory in which no file can be created.

    A directory that does not exist yet is checked through its nearest existing parent (Snakemake
    creates it there).
    """
    for directory in directories:
        probe_dir = Path(directory)
        while not probe_dir.exists() and probe_dir != probe_dir.parent:
            probe_dir = probe_dir.parent
        try:
            with tempfile.NamedTemporaryFile(dir=probe_dir, prefix=".atmo-write-check-"):
                pass
        except OSError as error:
            raise InputError(
                probe_dir,
                f"cannot be written ({error.strerror or type(error).__name__}): make it writable or run elsewhere",
            ) from None
