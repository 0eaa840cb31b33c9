"""Where SEVIR comes from: one interface over three sources (config ``nowcast.source``).

* ``synthetic``: :mod:`atmo.nowcast.synthetic.sevir` generates the catalog and each data file.
* ``sevir_s3``: HTTPS downloads from the public bucket (``nowcast.sevir.base_url``), verified and
  resumable through :func:`atmo.io.download.download`.
* ``sevir_local``: a directory already holding SEVIR's layout (``CATALOG.csv`` + ``data/``), as
  clusters keep it on shared storage. Files are checked and *symlinked*, never copied (1 TB).

Every source ends in the same files: ``<root>/CATALOG.csv`` and ``<root>/data/<file_name>``, so the
split and cache steps do not know which source ran. Every fetched file is checked against the
catalog rows that refer to it before it is accepted; a bad one raises :class:`InputError` and leaves
nothing at the destination.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd

from atmo.errors import ConfigError, InputError
from atmo.io.atomic import atomic_path
from atmo.io.download import download, transfer_settings
from atmo.nowcast.sevir_files import check_data_file, complete_rows, read_catalog, write_catalog
from atmo.nowcast.synthetic.sevir import SyntheticSevirConfig, synthetic_catalog, write_synthetic_file
from atmo.settings import build_block, settings_block

log = logging.getLogger(__name__)


class SevirConfig(settings_block("nowcast", "sevir")):
    """The ``nowcast.sevir`` config block: where the real sources are."""


@dataclass(frozen=True)
class SourceConfig:
    """``nowcast.source`` (one of the schema's sources) plus the blocks it reads (``synthetic``, or ``sevir``).

    A ``sevir_local`` source without ``sevir.local_dir`` is refused here, so the workflow's parse-time
    check (:mod:`atmo.settings.experiments`, through ``atmo/nowcast/spec.py``) stops it before any job.
    """

    source: str
    synthetic: SyntheticSevirConfig = field(default_factory=SyntheticSevirConfig)
    sevir: SevirConfig = field(default_factory=SevirConfig)

    def __post_init__(self) -> None:
        if self.source == "sevir_local" and not self.sevir.local_dir:
            raise ConfigError(
                "invalid config: key 'nowcast.sevir.local_dir': source 'sevir_local' needs the SEVIR directory "
                "(CATALOG.csv and data/), got none"
            )

    @classmethod
    def from_config(
        cls,
        source: str,
        seed: int,
        synthetic: Mapping[str, Any] | None,
        sevir: Mapping[str, Any] | None,
        transfer: Mapping[str, Any] | None = None,
    ) -> SourceConfig:
        """From the config's ``nowcast.source``, ``nowcast.seed``, ``nowcast.synthetic`` and ``nowcast.sevir``.

        ``transfer``: a block whose ``retries``, ``timeout_s`` and ``backoff_s`` replace ``sevir``'s (a
        fetch job's ``sevir`` params leave them out, so it passes the config's ``nowcast.sevir`` here).
        """
        generator = replace(build_block(SyntheticSevirConfig, synthetic, "nowcast.synthetic"), seed=seed)
        if transfer is not None:
            sevir = {**(sevir or {}), **transfer_settings(transfer)}
        return cls(source, generator, build_block(SevirConfig, sevir, "nowcast.sevir"))

    def local_root(self) -> Path:
        """The local SEVIR directory, which must exist (checked before anything is read)."""
        root = Path(self.sevir.local_dir)
        if not root.is_dir():
            raise InputError(root, "SEVIR directory (nowcast.sevir.local_dir) does not exist")
        return root


def _download(cfg: SourceConfig, relative: str, dest: str | os.PathLike[str]) -> None:
    """``<base_url>/<relative>`` to ``dest`` with the block's timeout, retries and back-off."""
    real = cfg.sevir
    url = f"{real.base_url.rstrip('/')}/{relative}"
    download(url, dest, retries=real.retries, timeout_s=real.timeout_s, backoff_s=real.backoff_s)


def _symlink(src: Path, dest: str | os.PathLike[str]) -> None:
    """Point ``dest`` at ``src`` (absolute), replacing it atomically."""
    with atomic_path(dest) as tmp:
        tmp.unlink()
        tmp.symlink_to(src.resolve())


def fetch_catalog(cfg: SourceConfig, dest: str | os.PathLike[str]) -> pd.DataFrame:
    """Put the source's full ``CATALOG.csv`` at ``dest`` (checked) and return it."""
    dest = Path(dest)
    if cfg.source == "synthetic":
        write_catalog(dest, synthetic_catalog(cfg.synthetic))
    elif cfg.source == "sevir_local":
        src = cfg.local_root() / "CATALOG.csv"
        read_catalog(src)
        _symlink(src, dest)
    else:
        _download(cfg, "CATALOG.csv", dest)
    try:
        return read_catalog(dest)
    except InputError:
        dest.unlink(missing_ok=True)
        raise


def fetch_data_file(cfg: SourceConfig, catalog: pd.DataFrame, file_name: str, dest: str | os.PathLike[str]) -> Path:
    """Put data file ``file_name`` (relative to SEVIR's ``data/``) at ``dest``, checked against
    the rows of ``catalog`` (the source's full catalog) that refer to it, less those lacking a
    required field (no step uses them, so they cannot describe the file)."""
    dest = Path(dest)
    rows = complete_rows(catalog[catalog["file_name"] == file_name], file_name)
    if rows.empty:
        raise InputError(dest, f"no complete catalog row refers to {file_name}")
    if cfg.source == "synthetic":
        write_synthetic_file(catalog, file_name, dest, cfg.synthetic)
    elif cfg.source == "sevir_local":
        src = cfg.local_root() / "data" / file_name
        check_data_file(src, rows)
        _symlink(src, dest)
        return dest
    else:
        _download(cfg, f"data/{file_name}", dest)
    try:
        check_data_file(dest, rows)
    except InputError:
        dest.unlink(missing_ok=True)
        raise
    return dest
