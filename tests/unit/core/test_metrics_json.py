"""One reader for every experiment's metrics JSON: missing, cut short or not an object is one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from atmo.errors import InputError
from atmo.io.metrics_json import read_json_object


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (None, "score file does not exist"),
        ('{"csi_m": 0.2', "not valid JSON, so not a readable score file"),
        ("[1, 2]", "not a score file: expected a JSON object, got list"),
    ],
)
def test_bad_metrics_files_are_one_line_naming_the_file(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "sgt.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError) as error:
        read_json_object(path, "score file")
    assert str(error.value).startswith(f"{path}: {problem}") and "\n" not in str(error.value)


def test_an_object_is_returned_as_it_is(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('{"csi_m": 0.25, "thresholds": [16]}')
    assert read_json_object(tmp_path / "m.json", "score file") == {"csi_m": 0.25, "thresholds": [16]}


def test_an_object_without_a_required_key_is_one_line_naming_them(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text('{"csi_m": 0.25}')
    with pytest.raises(InputError) as error:
        read_json_object(path, "score file", required=("csi_m", "thresholds", "n_leads"))
    assert str(error.value) == f"{path}: not a score file: key(s) ['thresholds', 'n_leads'] missing"
    assert read_json_object(path, "score file", required=("csi_m",)) == {"csi_m": 0.25}
