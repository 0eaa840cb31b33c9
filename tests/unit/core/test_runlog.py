"""A job's log: bad input ends it with one line, any other error with its traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from atmo.runlog import ATTEMPTS_KEPT

SCRIPT = """
import sys
from atmo.errors import InputError
from atmo.runlog import log_to

log_to(sys.argv[1])
try:
    open("/nonexistent/labels.tif")
except OSError as cause:
    if sys.argv[2] == "input":
        raise InputError("survey/risk.tif", "not a readable GeoTIFF (no such file)") from cause
    raise RuntimeError("a bug") from cause
"""


@pytest.mark.parametrize("kind", ["input", "bug"])
def test_bad_input_logs_one_line_and_a_bug_its_traceback(tmp_path: Path, kind: str) -> None:
    log = tmp_path / "job.log"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(log), kind], capture_output=True, text=True)
    assert done.returncode == 1
    lines = log.read_text().splitlines()
    if kind == "input":
        assert lines == ["atmo.errors.InputError: survey/risk.tif: not a readable GeoTIFF (no such file)"]
    else:
        assert lines[0] == "Traceback (most recent call last):" and lines[-1] == "RuntimeError: a bug"
        assert any("FileNotFoundError" in line for line in lines)  # the chained cause is kept for a bug


ATTEMPT = """
import sys
from atmo.runlog import log_to

log_to(sys.argv[1]).info("attempt %s", sys.argv[2])
"""


def test_each_attempt_stays_readable_after_snakemake_deletes_the_log(tmp_path: Path) -> None:
    log = tmp_path / "results/logs/nowcast/nowcast_train/sgt.log"
    for attempt in range(1, 8):
        subprocess.run([sys.executable, "-c", ATTEMPT, str(log), str(attempt)], check=True)
        log.unlink()  # what Snakemake does before it reruns a job
    kept = sorted((tmp_path / "results/logs/attempts/nowcast/nowcast_train/sgt").iterdir())
    assert len(kept) == ATTEMPTS_KEPT == 5  # the newest five
    assert [path.read_text().split("attempt ")[-1].strip() for path in kept] == ["3", "4", "5", "6", "7"]
