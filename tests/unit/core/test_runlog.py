"""A job's log: bad input ends it with one line, any other error with its traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

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
