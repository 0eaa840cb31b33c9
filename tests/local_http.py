"""A real HTTP server on 127.0.0.1 for download tests, started and stopped around a block."""

from __future__ import annotations

import contextlib
import functools
import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class _QuietFileHandler(SimpleHTTPRequestHandler):
    """Serves files without writing an access log line per request to the test output."""

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serve(handler: Callable[..., BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port of 127.0.0.1 while the block runs; yields the base URL."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@contextmanager
def serve_directory(root: str | os.PathLike[str]) -> Iterator[str]:
    """Serve the files under ``root`` (created if missing); yields the base URL."""
    Path(root).mkdir(parents=True, exist_ok=True)
    with serve(functools.partial(_QuietFileHandler, directory=os.fspath(root))) as url:
        yield url


@contextmanager
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers (a stalled proxy or overloaded host)."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()
