"""Progress through one epoch's batches: a tqdm bar on a terminal, a plain log line elsewhere.

A workflow job's stderr is its log file (:func:`atmo.runlog.log_to`). A tqdm bar written there is a
run of carriage returns, one unreadable 5 kB line per epoch; what a reader of the file needs is the
epoch's summary line (the trainer logs it) and, during an epoch long enough to wonder about, a line
now and then saying how far it got. So the bar is drawn only where a person watches it redraw.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterable, Iterator
from typing import TextIO, TypeVar

from tqdm import tqdm

log = logging.getLogger(__name__)

#: Seconds between two "still in this epoch" lines in a log file.
PROGRESS_SECONDS = 60.0

Batch = TypeVar("Batch")


def is_terminal(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal (a closed or file-less stream is not)."""
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def epoch_progress(
    batches: Iterable[Batch], desc: str, *, stream: TextIO | None = None, every: float = PROGRESS_SECONDS
) -> Iterator[Batch]:
    """Yield ``batches``, showing progress on ``stream`` (default: the current stderr).

    On a terminal: a tqdm bar labelled ``desc`` that disappears when the epoch ends. Elsewhere: a log
    record ``"<desc>: <done>/<total> batches, <s> s"`` once at least ``every`` seconds have passed
    since the epoch began or since the previous record, and nothing on ``stream``.
    """
    stream = sys.stderr if stream is None else stream
    if is_terminal(stream):
        yield from tqdm(batches, desc=desc, file=stream, leave=False)
        return
    total = f"/{len(batches)}" if hasattr(batches, "__len__") else ""
    started = reported = time.monotonic()
    for done, batch in enumerate(batches, 1):
        yield batch
        now = time.monotonic()
        if now - reported >= every:
            log.info("%s: %d%s batches, %.0f s", desc, done, total, now - started)
            reported = now
