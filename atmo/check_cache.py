"""Remember config checks that passed, so an unchanged config does not pay for torch at every start.

Before any job, each module builds its configured models once on the meta device
(:func:`atmo.train.check_entries`). That needs torch, torch_geometric and
segmentation_models_pytorch: about 10 s of imports on a 2-core machine, paid by every
``snakemake`` call (a dry run, a rerun, ``--report``), though the check's answer depends only on
the module's config block, atmo's code and the installed library versions.

:func:`run_unless_passed` therefore keys a check by a hash of exactly those — the resolved config
block, the bytes of every ``atmo/**/*.py`` file and of the rule files, and the versions in
:data:`LIBRARIES` — and skips it when a check with the same key passed before. Only a pass is
remembered: a failing check runs (and prints its error) every time. The markers are empty files
under ``$ATMO_CACHE_DIR`` (default ``$XDG_CACHE_HOME/atmo`` or ``~/.cache/atmo``), in
``config-checks/``; deleting the folder is always safe, and a folder that cannot be written only
means the check runs each time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

# Libraries whose constructors the checks call: a new version may refuse what the old one accepted.
LIBRARIES = ("torch", "torch_geometric", "segmentation_models_pytorch", "numpy")
PACKAGE = Path(__file__).resolve().parent


def cache_dir() -> Path:
    """Where passed checks are remembered (see the module docstring)."""
    if os.environ.get("ATMO_CACHE_DIR"):
        return Path(os.environ["ATMO_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "atmo"


@cache
def code_fingerprint(workflow_files: tuple[Path, ...] = ()) -> str:
    """A hash of atmo's source files, ``workflow_files`` (the rule files that define the checks) and
    the checked libraries' versions; computed once per process."""
    digest = hashlib.sha256()
    named = [(p.relative_to(PACKAGE).as_posix(), p) for p in sorted(PACKAGE.rglob("*.py"))]
    named += [(p.name, p) for p in workflow_files]  # by name: a copy of the workflow elsewhere is the same code
    for name, path in named:
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    for name in LIBRARIES:
        try:
            version = metadata.version(name)
        except metadata.PackageNotFoundError:
            version = "absent"
        digest.update(f"{name}={version}\0".encode())
    return digest.hexdigest()


def check_key(name: str, settings: Any, workflow_files: tuple[Path, ...] = ()) -> str:
    """The key of check ``name`` on ``settings`` (JSON-serialisable) with the current code."""
    code = code_fingerprint(tuple(Path(p).resolve() for p in workflow_files))
    text = json.dumps({"check": name, "settings": settings, "code": code}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def run_unless_passed(
    name: str,
    settings: Any,
    check: Callable[[], None],
    workflow_files: tuple[Path, ...] = (),
    directory: Path | None = None,
) -> bool:
    """Run ``check()`` unless it passed before on the same ``settings`` and code; True when it ran.

    ``workflow_files`` are hashed with atmo's code (the rule files where ``check`` is defined). An
    exception from ``check`` propagates and nothing is remembered.
    """
    marker = (directory or cache_dir()) / "config-checks" / check_key(name, settings, workflow_files)
    if marker.exists():
        return False
    check()
    with contextlib.suppress(OSError):  # an unwritable cache only means the check runs again next time
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()  # an empty file: there is no content to half-write
    return True
