"""The README's generated blocks: rewritten from the run's files, checked, and refused when unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from atmo.errors import InputError
from atmo.summary.readme import main, section_text, update_blocks

SUMMARY = """# Atmo: summary of this run

Intro.

## nowcast: SEVIR nowcasting (seed 001)

The SGT wins by 0.1.

| model | CSI-M |
| --- | ---: |
| sgt | 0.400 |

## cbh: cloud-base height (seed 000)

Geometry wins.

## Provenance

| what | value |
| --- | --- |
| git commit | `abc` |
"""

README = """# Project

Text before.

<!-- generated from results/summary.md: nowcast -->
old table
<!-- end generated -->

Prose in between stays.

<!-- generated from results/summary.md: Provenance -->
<!-- end generated -->

<!-- generated from results/nowcast/scores.md -->
<!-- end generated -->
"""

SCORES = "# nowcast scores\n\n| a | b |\n| --- | --- |\n| 1 | 2 |\n"


def files(extra: dict[str, str] | None = None):
    known = {"results/summary.md": SUMMARY, "results/nowcast/scores.md": SCORES, **(extra or {})}
    return known.get


def test_a_section_is_its_body_up_to_the_next_heading() -> None:
    body = section_text(SUMMARY, "nowcast")
    assert body.splitlines() == [
        "The SGT wins by 0.1.",
        "",
        "| model | CSI-M |",
        "| --- | ---: |",
        "| sgt | 0.400 |",
    ]
    assert section_text(SUMMARY, "Provenance").endswith("| git commit | `abc` |")
    assert section_text(SUMMARY, "riskseg") is None
    assert section_text(SCORES, None).startswith("| a | b |")  # the file's title is dropped


def test_blocks_are_rewritten_and_the_rest_is_kept() -> None:
    text, changed = update_blocks(README, files())
    assert changed == ["results/summary.md: nowcast", "results/summary.md: Provenance", "results/nowcast/scores.md"]
    assert "old table" not in text
    assert "| sgt | 0.400 |" in text and "| git commit | `abc` |" in text and "| 1 | 2 |" in text
    assert "Text before." in text and "Prose in between stays." in text
    assert "Geometry wins." not in text  # the cbh section was not asked for
    again, changed_again = update_blocks(text, files())
    assert again == text and changed_again == []


def test_a_changed_number_is_a_changed_block() -> None:
    text, _ = update_blocks(README, files())
    _, changed = update_blocks(text, files({"results/summary.md": SUMMARY.replace("0.400", "0.401")}))
    assert changed == ["results/summary.md: nowcast"]


@pytest.mark.parametrize(
    ("readme", "message"),
    [
        ("<!-- generated from results/absent.md -->\n<!-- end generated -->\n", r"README.md:1: .*absent.md does not"),
        ("<!-- generated from results/summary.md: riskseg -->\n<!-- end generated -->\n", r"no section 'riskseg'"),
        ("<!-- generated from results/summary.md: nowcast -->\nno end\n", r"README.md:1: .*has no '<!-- end generated"),
    ],
)
def test_unknown_sources_and_open_blocks_are_one_line_errors(readme: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        update_blocks(readme, files())


def test_the_command_rewrites_in_place_and_check_fails_on_a_stale_readme(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "results/nowcast").mkdir(parents=True)
    (tmp_path / "results/summary.md").write_text(SUMMARY)
    (tmp_path / "results/nowcast/scores.md").write_text(SCORES)
    readme = tmp_path / "README.md"
    readme.write_text(README)
    assert main([str(readme), "--run-dir", str(tmp_path), "--check"]) == 1
    assert readme.read_text() == README
    assert "block 'results/summary.md: nowcast' differs" in capsys.readouterr().err
    assert main([str(readme), "--run-dir", str(tmp_path)]) == 0
    assert "| sgt | 0.400 |" in readme.read_text()
    assert main([str(readme), "--run-dir", str(tmp_path), "--check"]) == 0
    (tmp_path / "results/nowcast/scores.md").unlink()
    before = readme.read_text()
    assert main([str(readme), "--run-dir", str(tmp_path)]) == 2
    assert readme.read_text() == before
    assert "does not exist" in capsys.readouterr().err
