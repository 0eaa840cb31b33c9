"""A passed config check is skipped next time only if its settings and the code are unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from atmo.check_cache import check_key, code_fingerprint, run_unless_passed


class Counter:
    def __init__(self, fail: bool = False) -> None:
        self.calls, self.fail = 0, fail

    def __call__(self) -> None:
        self.calls += 1
        if self.fail:
            raise ValueError("refused")


def test_a_passed_check_is_skipped_on_the_same_settings(tmp_path: Path) -> None:
    check = Counter()
    assert run_unless_passed("nowcast", {"models": {"a": 1}}, check, directory=tmp_path)
    assert not run_unless_passed("nowcast", {"models": {"a": 1}}, check, directory=tmp_path)
    assert check.calls == 1


def test_changed_settings_or_another_check_run_again(tmp_path: Path) -> None:
    check = Counter()
    run_unless_passed("nowcast", {"models": {"a": 1}}, check, directory=tmp_path)
    assert run_unless_passed("nowcast", {"models": {"a": 2}}, check, directory=tmp_path)
    assert run_unless_passed("cbh", {"models": {"a": 1}}, check, directory=tmp_path)
    assert check.calls == 3


def test_a_failing_check_is_never_remembered(tmp_path: Path) -> None:
    check = Counter(fail=True)
    for _ in range(2):
        with pytest.raises(ValueError, match="refused"):
            run_unless_passed("riskseg", {"x": 1}, check, directory=tmp_path)
    assert check.calls == 2
    assert not list(tmp_path.rglob("*"))


def test_an_edited_rule_file_changes_the_key_but_its_location_does_not(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "rules.smk", tmp_path / "b" / "rules.smk"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text("rule x: pass\n")
    assert check_key("c", {}, (first,)) == check_key("c", {}, (second,))
    second.write_text("rule x: input: 'y'\n")
    code_fingerprint.cache_clear()
    assert check_key("c", {}, (first,)) != check_key("c", {}, (second,))


def test_an_edited_atmo_source_changes_the_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "atmo"
    package.mkdir()
    (package / "models.py").write_text("WIDTH = 1\n")
    monkeypatch.setattr("atmo.check_cache.PACKAGE", package)
    code_fingerprint.cache_clear()
    before = check_key("c", {})
    (package / "models.py").write_text("WIDTH = 2\n")
    code_fingerprint.cache_clear()
    assert check_key("c", {}) != before
    code_fingerprint.cache_clear()


def test_an_unwritable_cache_only_means_the_check_runs_each_time(tmp_path: Path) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    check = Counter()
    assert run_unless_passed("c", {}, check, directory=blocked)
    assert run_unless_passed("c", {}, check, directory=blocked)
    assert check.calls == 2
