"""The generated blocks of the README and docs/: rewritten from the run's files, checked, refused when unknown."""

from __future__ import annotations

from pathlib import Path

import pytest

from atmo.errors import InputError
from atmo.summary.readme import main, markdown_pages, section_text, update_blocks

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


DOC = """# nowcast

Method notes.

<!-- generated from results/nowcast/scores.md -->
<!-- end generated -->
"""


def a_run_with_pages(root: Path) -> tuple[Path, Path]:
    """A run's files under ``root`` and, beside them, a README and a docs/ page quoting it, both current."""
    (root / "results/nowcast").mkdir(parents=True)
    (root / "results/summary.md").write_text(SUMMARY)
    (root / "results/nowcast/scores.md").write_text(SCORES)
    readme, doc = root / "README.md", root / "docs/nowcast.md"
    doc.parent.mkdir()
    readme.write_text(update_blocks(README, files())[0])
    doc.write_text(update_blocks(DOC, files())[0])
    return readme, doc


def test_a_folder_stands_for_the_markdown_pages_directly_in_it(tmp_path: Path) -> None:
    (tmp_path / "docs/images").mkdir(parents=True)
    for name in ("riskseg.md", "cbh.md", "notes.txt", "images/figure.md"):
        (tmp_path / "docs" / name).write_text("")
    (tmp_path / "README.md").write_text("")
    pages = markdown_pages([tmp_path / "README.md", tmp_path / "docs"])
    assert [p.relative_to(tmp_path).as_posix() for p in pages] == ["README.md", "docs/cbh.md", "docs/riskseg.md"]
    with pytest.raises(InputError, match=r"absent: no such markdown file or folder"):
        markdown_pages([tmp_path / "absent"])


def test_check_names_the_docs_page_and_the_block_that_went_stale(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme, doc = a_run_with_pages(tmp_path)
    command = [str(readme), str(tmp_path / "docs"), "--run-dir", str(tmp_path)]
    assert main([*command, "--check"]) == 0
    doc.write_text(doc.read_text().replace("| 1 | 2 |", "| 1 | 3 |"))
    stale = doc.read_text()
    assert main([*command, "--check"]) == 1
    err = capsys.readouterr().err
    assert f"{doc}: block 'results/nowcast/scores.md' differs" in err
    assert str(readme) not in err  # the README still matches the run
    assert doc.read_text() == stale  # --check writes nothing
    assert main(command) == 0
    assert doc.read_text() == update_blocks(DOC, files())[0]
    assert main([*command, "--check"]) == 0


def test_a_block_the_run_cannot_fill_in_one_page_leaves_every_page_unwritten(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme, doc = a_run_with_pages(tmp_path)
    readme.write_text(README)  # stale: would be rewritten
    unfillable = DOC + "\n<!-- generated from results/absent.md -->\n<!-- end generated -->\n"
    doc.write_text(unfillable)
    assert main([str(readme), str(doc), "--run-dir", str(tmp_path)]) == 2
    assert readme.read_text() == README and doc.read_text() == unfillable
    assert f"{doc}:8: block 'results/absent.md'" in capsys.readouterr().err
