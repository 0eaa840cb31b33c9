"""Markdown tables as HTML pages: the report shows these where it only offers the .md as a download."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from atmo.publish import Column, Row, markdown_table
from atmo.publish.html import CSS_CLASS, markdown_fragment, write_markdown_page


class _Cells(HTMLParser):
    """The text of every <th>/<td>, row by row, and the classes seen."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.classes: set[str] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.classes.update(value for key, value in attrs if key == "class" and value)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def test_a_shared_markdown_table_becomes_an_html_table_with_the_same_cells() -> None:
    rows = [Row("sgt", "model", {"csi_m": 0.2512}), Row("persistence", "baseline", {"csi_m": None})]
    text = markdown_table(rows, [Column("CSI-M", "csi_m", 3)], name_header="model", notes=["Test events."])
    parser = _Cells()
    parser.feed(markdown_fragment(text))
    assert parser.rows == [["model", "kind", "CSI-M"], ["sgt", "model", "0.251"], ["persistence", "baseline", "n/a"]]
    assert CSS_CLASS in parser.classes


def test_the_page_is_a_whole_document_written_atomically(tmp_path: Path) -> None:
    source = tmp_path / "scores.md"
    source.write_text("# Scores\n\n| a | b |\n| --- | --- |\n| `x` | 1 |\n")
    page = tmp_path / "scores.html"
    write_markdown_page(source, page, title="nowcast: scores")
    text = page.read_text()
    assert text.startswith("<!DOCTYPE html>") and "<title>nowcast: scores</title>" in text
    assert "<h1>Scores</h1>" in text and "<code>x</code>" in text
    assert {p.name for p in tmp_path.iterdir()} == {"scores.md", "scores.html"}  # no temporary left
