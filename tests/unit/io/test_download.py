"""Downloads against a real HTTP server on 127.0.0.1 that can cut connections and ignore Range."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import numpy as np
import pytest
from local_http import serve, silent_server

from atmo.errors import InputError
from atmo.io.download import (
    ManifestEntry,
    download,
    download_manifest,
    progress_line,
    read_manifest,
    transfer_settings,
    write_manifest,
)

PAYLOAD = np.random.default_rng(7).integers(0, 256, size=300_000, dtype=np.uint8).tobytes()
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@dataclass
class ServerState:
    """What the handler serves and how it misbehaves; records every request's headers."""

    files: dict[str, bytes] = field(default_factory=dict)
    cut_after: int | None = None  # first request only: send this many body bytes, then hang up
    honour_range: bool = True
    fail_status: int | None = None  # answer every request with this status
    requests: list[dict[str, str]] = field(default_factory=list)


class RangeHandler(BaseHTTPRequestHandler):
    state: ServerState

    def log_message(self, *args: object) -> None:  # keep pytest output clean
        pass

    def do_GET(self) -> None:
        state = self.state
        state.requests.append({"path": self.path, **dict(self.headers)})
        first = len(state.requests) == 1
        body = state.files.get(self.path)
        if state.fail_status is not None or body is None:
            self.send_error(state.fail_status or 404)
            return
        start = 0
        range_header = self.headers.get("Range")
        if range_header and state.honour_range:
            start = int(range_header.removeprefix("bytes=").split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(body)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.end_headers()
        if first and state.cut_after is not None:
            self.wfile.write(chunk[: state.cut_after])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(chunk)


@pytest.fixture
def server() -> Iterator[tuple[str, ServerState]]:
    state = ServerState(files={"/data.bin": PAYLOAD, "/small.txt": b"hello\n"})
    handler = type("Handler", (RangeHandler,), {"state": state})
    with serve(handler) as url:
        yield url, state


FAST = {"backoff_s": 0.0, "timeout_s": 10.0}


def test_download_verifies_and_leaves_no_part(server, tmp_path: Path) -> None:
    base, state = server
    dest = download(f"{base}/data.bin", tmp_path / "sub" / "data.bin", size=len(PAYLOAD), sha256=PAYLOAD_SHA, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "sub" / "data.bin.part").exists()
    assert len(state.requests) == 1 and "Range" not in state.requests[0]


def test_interrupted_transfer_resumes_with_range(server, tmp_path: Path) -> None:
    base, state = server
    state.cut_after = 123_457
    dest = download(f"{base}/data.bin", tmp_path / "data.bin", size=len(PAYLOAD), sha256=PAYLOAD_SHA, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(state.requests) == 2
    assert state.requests[1]["Range"] == "bytes=123457-"


def test_resume_without_known_size_uses_content_length(server, tmp_path: Path) -> None:
    base, state = server
    state.cut_after = 1000
    dest = download(f"{base}/data.bin", tmp_path / "data.bin", **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert state.requests[1]["Range"] == "bytes=1000-"


def test_server_ignoring_range_restarts_from_zero(server, tmp_path: Path) -> None:
    base, state = server
    state.cut_after = 50_000
    state.honour_range = False
    dest = download(f"{base}/data.bin", tmp_path / "data.bin", size=len(PAYLOAD), sha256=PAYLOAD_SHA, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert state.requests[1]["Range"] == "bytes=50000-"


def test_complete_part_file_is_finished_without_refetching_bytes(server, tmp_path: Path) -> None:
    base, state = server
    (tmp_path / "data.bin.part").write_bytes(PAYLOAD)
    dest = download(f"{base}/data.bin", tmp_path / "data.bin", sha256=PAYLOAD_SHA, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert state.requests[0]["Range"] == f"bytes={len(PAYLOAD)}-"  # answered 416 with the total


def test_wrong_checksum_removes_part_and_names_both_values(server, tmp_path: Path) -> None:
    base, _ = server
    wrong = "0" * 64
    with pytest.raises(InputError) as err:
        download(f"{base}/data.bin", tmp_path / "data.bin", sha256=wrong, **FAST)
    message = str(err.value)
    assert "data.bin" in message and wrong in message and PAYLOAD_SHA in message
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_wrong_size_is_an_input_error(server, tmp_path: Path) -> None:
    base, _ = server
    with pytest.raises(InputError, match=r"expected 6 bytes, got 300000"):
        download(f"{base}/data.bin", tmp_path / "data.bin", size=6, **FAST)
    assert list(tmp_path.iterdir()) == []


def test_404_fails_at_once(server, tmp_path: Path) -> None:
    base, state = server
    with pytest.raises(InputError, match="HTTP 404"):
        download(f"{base}/missing.bin", tmp_path / "missing.bin", retries=5, **FAST)
    assert len(state.requests) == 1
    assert list(tmp_path.iterdir()) == []


def test_server_errors_are_retried_then_reported(server, tmp_path: Path) -> None:
    base, state = server
    state.fail_status = 503
    with pytest.raises(InputError, match=r"after 3 attempts: HTTP 503"):
        download(f"{base}/data.bin", tmp_path / "data.bin", retries=2, **FAST)
    assert len(state.requests) == 3


def test_existing_verified_file_is_not_downloaded_again(server, tmp_path: Path) -> None:
    base, state = server
    dest = tmp_path / "data.bin"
    download(f"{base}/data.bin", dest, sha256=PAYLOAD_SHA, **FAST)
    mtime = dest.stat().st_mtime_ns
    download(f"{base}/data.bin", dest, sha256=PAYLOAD_SHA, **FAST)
    assert len(state.requests) == 1
    assert dest.stat().st_mtime_ns == mtime


def test_existing_corrupt_file_is_replaced(server, tmp_path: Path) -> None:
    base, state = server
    dest = tmp_path / "data.bin"
    dest.write_bytes(b"stale")
    download(f"{base}/data.bin", dest, sha256=PAYLOAD_SHA, **FAST)
    assert dest.read_bytes() == PAYLOAD
    assert len(state.requests) == 1


def test_manifest_round_trip_and_download(server, tmp_path: Path) -> None:
    base, _ = server
    entries = [
        ManifestEntry(f"{base}/data.bin", "a/data.bin", len(PAYLOAD), PAYLOAD_SHA),
        ManifestEntry(f"{base}/small.txt", "small.txt"),
    ]
    manifest = tmp_path / "manifest.yaml"
    write_manifest(manifest, entries)
    assert read_manifest(manifest) == entries
    assert "sha256" not in manifest.read_text().split("small.txt")[-1]  # unknown values left out
    paths = download_manifest(read_manifest(manifest), tmp_path / "out", **FAST)
    assert paths == [tmp_path / "out" / "a" / "data.bin", tmp_path / "out" / "small.txt"]
    assert paths[0].read_bytes() == PAYLOAD and paths[1].read_bytes() == b"hello\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("url: x\n", "must be a YAML list"),
        ("- {path: a}\n", "needs a non-empty string 'url'"),
        ("- {url: http://x, path: ../a}\n", "must be relative"),
        ("- {url: http://x, path: a, size: -1}\n", "not a non-negative integer"),
        ("- {url: http://x, path: a, sha256: abc}\n", "not 64 hex digits"),
        ("- {url: http://x, path: a, md5: abc}\n", "unknown key"),
        ("- {url: http://x, path: a}\n- {url: http://y, path: a}\n", "listed twice"),
        ("- [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_manifest_is_an_input_error(tmp_path: Path, text: str, problem: str) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(text)
    with pytest.raises(InputError, match=problem) as err:
        read_manifest(manifest)
    assert str(err.value).startswith(str(manifest))


def test_missing_manifest_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="manifest does not exist"):
        read_manifest(tmp_path / "nope.yaml")


def test_a_server_that_never_answers_times_out_retries_and_names_the_url(tmp_path: Path, caplog) -> None:
    with silent_server() as url, caplog.at_level("WARNING"):
        started = time.monotonic()
        with pytest.raises(InputError, match=r"/data\.bin: download failed after 2 attempts: .*timed out"):
            download(f"{url}/data.bin", tmp_path / "data.bin", retries=1, timeout_s=0.3, backoff_s=0.0)
        assert time.monotonic() - started < 5
    retries = [r.getMessage() for r in caplog.records if "retry 1/1" in r.getMessage()]
    assert len(retries) == 1 and "timed out" in retries[0]
    assert not (tmp_path / "data.bin").exists()


def test_progress_names_the_bytes_the_total_and_the_rate() -> None:
    assert progress_line("VIL.h5", 1_200_000_000, 5_000_000_000, 400_000_000, 10.0) == (
        "VIL.h5: 1.20 of 5.00 GB (24 %), 40.0 MB/s"
    )
    assert progress_line("VIL.h5", 2_000_000, None, 2_000_000, 4.0) == "VIL.h5: 0.00 GB so far, 0.5 MB/s"


def test_transfer_settings_fill_the_download_defaults() -> None:
    assert transfer_settings(None) == {"retries": 3, "timeout_s": 60.0, "backoff_s": 1.0}
    assert transfer_settings({"timeout_s": 5, "manifest": "m.yaml"}) == {"retries": 3, "timeout_s": 5, "backoff_s": 1.0}
