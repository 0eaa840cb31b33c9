"""Verified, resumable downloads driven by a manifest of URLs, sizes and checksums.

Real data sources are large files on plain HTTP(S) servers. A download that dies half-way must not
leave a file that looks complete, and a rerun should not start again from zero. So:

* bytes go to ``<dest>.part``; an interrupted transfer is resumed with an HTTP ``Range`` request
  (a server that ignores ``Range`` and answers ``200`` is handled by restarting from zero);
* once complete, the ``.part`` file is checked against the expected size and SHA-256 (when the
  manifest knows them) and renamed into place only if it matches, so ``dest`` is always verified;
* a checksum or size mismatch deletes the ``.part`` file and raises :class:`InputError` with the
  expected and the actual value; a permanent HTTP error (404, 403, ...) fails at once, while
  transient ones (connection cut, timeout, 5xx) are retried with exponential back-off;
* an existing ``dest`` that passes verification is not downloaded again.

A manifest is a YAML list of mappings ``{url, path, size, sha256}`` (``size`` and ``sha256``
optional); ``path`` is relative to the directory the files are downloaded into.
"""

from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import asdict, dataclass, fields
from pathlib import Path, PurePosixPath

import yaml

from atmo.errors import InputError
from atmo.io.atomic import write_text
from atmo.settings import settings_block

log = logging.getLogger(__name__)
#: Loggers whose lines a fetch job also prints on the console (:func:`atmo.runlog.log_to`): a user
#: watching ``snakemake`` sees a large file move, a retry, or a stalled server.
DOWNLOAD_PROGRESS = (__name__,)

CHUNK_BYTES = 1 << 20
PROGRESS_EVERY_S = 10.0
# Client errors that will not go away by asking again; everything else (5xx, 408, 429, dropped
# connections, timeouts) is worth a retry.
_RETRYABLE_HTTP = {408, 425, 429}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class ManifestEntry:
    """One file to fetch: where from, where to (relative), and what it must be."""

    url: str
    path: str
    size: int | None = None
    sha256: str | None = None


class TransferPolicy(settings_block("io/transfer")):
    """How :func:`download` retries when its caller gives no policy: an experiment's source block sets its own.

    ``retries`` further attempts after a transient failure, ``timeout_s`` per request, and
    ``backoff_s`` before the first retry (doubled for each further one).
    """


#: The keys of a transfer policy, the same in every config block that downloads (an experiment's ``url``
#: block or its own source block). They never change a file's content, so the rules keep them
#: out of ``params`` (editing a timeout must not download everything again) and the fetch scripts
#: read them from the config.
TRANSFER_KEYS = tuple(field.name for field in fields(TransferPolicy))


def transfer_settings(block: dict | None) -> dict[str, float | int]:
    """``retries``, ``timeout_s`` and ``backoff_s`` of a source block, defaults where it has none."""
    defaults = {key: getattr(TransferPolicy, key) for key in TRANSFER_KEYS}
    return {key: (block or {}).get(key, default) for key, default in defaults.items()}


def without_transfer(block: dict) -> dict:
    """``block`` less the transfer keys: what a fetch rule's ``params`` may carry."""
    return {key: value for key, value in block.items() if key not in TRANSFER_KEYS}


class _TransientError(Exception):
    """A failure worth retrying (the transfer may resume from the bytes already on disk)."""


def _entry_from_mapping(where: Path, index: int, item: object) -> ManifestEntry:
    if not isinstance(item, dict):
        raise InputError(where, f"entry {index} is {type(item).__name__}, expected a mapping")
    unknown = sorted(set(item) - {"url", "path", "size", "sha256"})
    if unknown:
        raise InputError(where, f"entry {index} has unknown key(s) {unknown}")
    for key in ("url", "path"):
        if not isinstance(item.get(key), str) or not item[key]:
            raise InputError(where, f"entry {index} needs a non-empty string '{key}'")
    rel = PurePosixPath(item["path"])
    if rel.is_absolute() or ".." in rel.parts:
        raise InputError(where, f"entry {index} path '{rel}' must be relative and stay inside the download directory")
    size = item.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise InputError(where, f"entry {index} size {size!r} is not a non-negative integer")
    sha256 = item.get("sha256")
    if sha256 is not None and (not isinstance(sha256, str) or not _SHA256.fullmatch(sha256.lower())):
        raise InputError(where, f"entry {index} sha256 {sha256!r} is not 64 hex digits")
    return ManifestEntry(item["url"], str(rel), size, sha256.lower() if sha256 else None)


def read_manifest(path: str | os.PathLike[str]) -> list[ManifestEntry]:
    """Read and check a manifest; every problem is an :class:`InputError` naming the file."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "manifest does not exist")
    try:
        items = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise InputError(path, f"not valid YAML ({err})") from err
    if not isinstance(items, list):
        raise InputError(path, f"manifest must be a YAML list of entries, got {type(items).__name__}")
    entries = [_entry_from_mapping(path, i, item) for i, item in enumerate(items)]
    duplicates = sorted({e.path for e in entries if sum(o.path == e.path for o in entries) > 1})
    if duplicates:
        raise InputError(path, f"destination path(s) listed twice: {duplicates}")
    return entries


def write_manifest(path: str | os.PathLike[str], entries: Iterable[ManifestEntry]) -> None:
    """Write ``entries`` as a manifest (unknown ``size``/``sha256`` are left out), atomically."""
    items = [{k: v for k, v in asdict(e).items() if v is not None} for e in entries]
    write_text(path, yaml.safe_dump(items, sort_keys=False))


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file, read in chunks so large files need no memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _mismatch(path: Path, size: int | None, sha256: str | None) -> str | None:
    """Why ``path`` is not the expected file, or ``None`` if it matches everything known."""
    actual_size = path.stat().st_size
    if size is not None and actual_size != size:
        return f"size mismatch: expected {size} bytes, got {actual_size}"
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256.lower():
            return f"sha256 mismatch: expected {sha256.lower()}, got {actual}"
    return None


def progress_line(name: str, have: int, total: int | None, moved: int, seconds: float) -> str:
    """``SEVIR_VIL_2019.h5: 1.2 of 5.0 GB (24 %), 38.1 MB/s``: where a long download stands."""
    rate = f"{moved / max(seconds, 1e-9) / 1e6:.1f} MB/s"
    if not total:
        return f"{name}: {have / 1e9:.2f} GB so far, {rate}"
    return f"{name}: {have / 1e9:.2f} of {total / 1e9:.2f} GB ({100 * have / total:.0f} %), {rate}"


def _open(url: str, offset: int, timeout_s: float) -> http.client.HTTPResponse:
    """Open ``url`` asking for the bytes from ``offset`` on; sort failures into permanent/transient."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        return urllib.request.urlopen(request, timeout=timeout_s)
    except urllib.error.HTTPError as err:
        if err.code == 416 and offset:
            return err  # handled by the caller: the .part may already be complete
        if err.code >= 500 or err.code in _RETRYABLE_HTTP:
            raise _TransientError(f"HTTP {err.code} {err.reason}") from err
        raise InputError(url, f"HTTP {err.code} {err.reason}") from err
    except (urllib.error.URLError, OSError, http.client.HTTPException) as err:
        raise _TransientError(f"{type(err).__name__}: {err}") from err


def _transfer(url: str, part: Path, size: int | None, timeout_s: float) -> None:
    """One attempt: append the missing bytes to ``part``; return normally only when complete."""
    offset = part.stat().st_size if part.exists() else 0
    if size is not None and offset > size:
        log.warning("%s is larger than the expected %d bytes; starting again", part, size)
        part.unlink()
        offset = 0
    if size is not None and offset == size and offset:
        return
    with _open(url, offset, timeout_s) as response:
        status = response.status
        if status == 416:
            total = response.headers.get("Content-Range", "").rpartition("/")[2]
            if total == str(offset):
                return  # the server confirms we already hold every byte
            part.unlink()
            raise _TransientError(f"range {offset}- not satisfiable (server size {total or 'unknown'})")
        if status == 206:
            match = _CONTENT_RANGE.fullmatch(response.headers.get("Content-Range", "").strip())
            if match is None or int(match.group(1)) != offset:
                part.unlink(missing_ok=True)
                raise _TransientError("server answered with a different byte range; starting again")
            mode = "ab"
        else:
            if offset:
                log.info("server ignored the Range request for %s; restarting from byte 0", url)
            offset, mode = 0, "wb"
        length = response.headers.get("Content-Length")
        expected = int(length) if length is not None else None
        received = 0
        started = time.monotonic()
        next_report = started + PROGRESS_EVERY_S
        try:
            with open(part, mode) as stream:
                while chunk := response.read(CHUNK_BYTES):
                    stream.write(chunk)
                    received += len(chunk)
                    if time.monotonic() >= next_report:
                        total = None if expected is None else offset + expected
                        log.info(
                            "%s",
                            progress_line(part.name, offset + received, total, received, time.monotonic() - started),
                        )
                        next_report += PROGRESS_EVERY_S
        except (OSError, http.client.HTTPException) as err:
            raise _TransientError(f"transfer interrupted after {offset + received} bytes ({err})") from err
    # http.client returns b"" instead of raising when the peer closes early, so count ourselves.
    if expected is not None and received < expected:
        raise _TransientError(f"connection closed after {offset + received} of {offset + expected} bytes")


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    size: int | None = None,
    sha256: str | None = None,
    retries: int = TransferPolicy.retries,
    timeout_s: float = TransferPolicy.timeout_s,
    backoff_s: float = TransferPolicy.backoff_s,
) -> Path:
    """Fetch ``url`` to ``dest`` through ``dest.part`` with resume, verify, then rename into place.

    ``retries`` is the number of further attempts after a transient failure (each resumes from the
    bytes already in ``.part``), waiting ``backoff_s * 2**k`` seconds before attempt ``k + 1``.
    A ``.part`` left by exhausted retries is kept so the next run resumes it.

    Raises :class:`InputError` naming ``url`` for a permanent HTTP error or exhausted retries, and
    naming ``dest`` for a size or SHA-256 mismatch (after deleting the ``.part`` file).
    """
    dest = Path(dest)
    if dest.exists():
        problem = _mismatch(dest, size, sha256)
        if problem is None:
            log.info("%s already present and verified; not downloading", dest)
            return dest
        log.warning("%s exists but does not verify (%s); downloading again", dest, problem)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    log.info("downloading %s -> %s", url, dest)
    for attempt in range(retries + 1):
        try:
            _transfer(url, part, size, timeout_s)
            break
        except _TransientError as err:
            if attempt == retries:
                raise InputError(url, f"download failed after {retries + 1} attempts: {err}") from err
            wait_s = backoff_s * 2**attempt
            log.warning("%s: %s; retry %d/%d in %.1f s", url, err, attempt + 1, retries, wait_s)
            time.sleep(wait_s)
    problem = _mismatch(part, size, sha256)
    if problem is not None:
        part.unlink()
        raise InputError(dest, f"{problem} (downloaded from {url}; partial file removed)")
    os.replace(part, dest)
    log.info("%s verified (%d bytes)", dest, dest.stat().st_size)
    return dest


def download_manifest(
    entries: Iterable[ManifestEntry], dest_dir: str | os.PathLike[str], **kwargs: float | int
) -> list[Path]:
    """Download every entry to ``dest_dir / entry.path``; ``kwargs`` go to :func:`download`."""
    root = Path(dest_dir)
    return [download(e.url, root / e.path, size=e.size, sha256=e.sha256, **kwargs) for e in entries]
