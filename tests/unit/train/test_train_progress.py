"""Training progress: a line per epoch in a job's log file, a tqdm bar only on a terminal (atmo.train.progress)."""

from __future__ import annotations

import io
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from atmo.train.progress import epoch_progress

HERE = Path(__file__).parent
EPOCHS = 3

# A workflow job as the rules run it: log_to() makes the log file its stderr, then it trains with the
# progress bar on (the train config's default).
JOB = f"""
import sys
from atmo.runlog import log_to
from train_toys import make_trainer

log_to(sys.argv[1])
trainer, train, val, _ = make_trainer(__import__("pathlib").Path(sys.argv[2]), epochs={EPOCHS}, progress=True)
trainer.fit(train, val)
"""


class Terminal(io.StringIO):
    """A stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_log_file_gets_one_readable_line_per_epoch(tmp_path: Path) -> None:
    log = tmp_path / "train.log"
    subprocess.run([sys.executable, "-c", JOB, str(log), str(tmp_path / "run")], cwd=HERE, check=True, timeout=300)
    text = log.read_bytes().decode()  # read_text() would turn each "\r" into a line end
    assert "\r" not in text, "a progress bar was drawn into the log file"
    epoch_lines = [line for line in text.splitlines() if re.search(r" epoch \d+/", line)]
    assert [re.search(r" epoch (\d+)/(\d+) ", line).groups() for line in epoch_lines] == [
        (str(epoch), str(EPOCHS)) for epoch in range(1, EPOCHS + 1)
    ]
    for line in epoch_lines:  # loss, validation metric and time, each a number
        for field in ("train_loss", "val_loss", "val_mae", "seconds"):
            assert re.search(rf" {field}=[-+.\de]+( |$)", line), f"{field} missing from {line!r}"


def test_a_terminal_gets_a_bar_and_no_log_lines(caplog: pytest.LogCaptureFixture) -> None:
    terminal = Terminal()
    with caplog.at_level(logging.INFO, logger="atmo.train.progress"):
        assert list(epoch_progress(range(5), "epoch 1/2", stream=terminal, every=0.0)) == list(range(5))
    assert "\r" in terminal.getvalue() and "epoch 1/2" in terminal.getvalue()
    assert caplog.records == []


def test_a_long_epoch_in_a_file_reports_its_batches_as_it_goes(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    with caplog.at_level(logging.INFO, logger="atmo.train.progress"):
        assert list(epoch_progress(range(3), "epoch 2/5", stream=stream, every=0.0)) == [0, 1, 2]
        assert list(epoch_progress(range(3), "epoch 3/5", stream=stream, every=3600.0)) == [0, 1, 2]
    assert stream.getvalue() == ""
    assert [re.sub(r"\d+ s$", "N s", r.getMessage()) for r in caplog.records] == [
        f"epoch 2/5: {done}/3 batches, N s" for done in (1, 2, 3)
    ]
