"""config/README.md's key tables are the schemas': ``atmo.settings.describe --check`` fails when they drift."""

from __future__ import annotations

from pathlib import Path

import pytest

from atmo.settings.describe import main, rewrite
from atmo.settings.schema import document, schema_uri

README = Path(__file__).resolve().parents[3] / "config" / "README.md"


def test_the_committed_tables_match_the_schemas() -> None:
    assert main([str(README), "--check"]) == 0


def test_a_changed_description_fails_the_check_until_the_tables_are_rewritten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    copy = tmp_path / "README.md"
    copy.write_text(README.read_text())
    seed = document(schema_uri("nowcast"))["properties"]["seed"]
    monkeypatch.setitem(seed, "description", "a reworded description")
    assert main([str(copy), "--check"]) == 1
    assert main([str(copy)]) == 0
    assert "| `seed` | integer | `0` | >= 0 | a reworded description |" in copy.read_text()
    assert main([str(copy), "--check"]) == 0


def test_a_file_without_the_markers_is_refused() -> None:
    with pytest.raises(ValueError, match="markers"):
        rewrite("# Configuration\n")
