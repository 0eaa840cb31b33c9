"""Markdown tables and the run summary as HTML pages the Snakemake report can display.

Snakemake's HTML report shows images, PDFs and HTML inline but offers every other file (``.md``,
``.csv``) only as a download, so a reader would have to open forty files to see the numbers. Each
markdown table therefore gets an HTML twin with the same text, and the summary's HTML is also
embedded in the report's front page (``report/workflow.rst``). The styles are scoped to the
``atmo-table`` class so that, embedded in the report's own page, they style nothing else.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import markdown

from atmo.io.atomic import write_text

CSS_CLASS = "atmo-table"
STYLE = f"""
.{CSS_CLASS} {{ font-family: system-ui, sans-serif; font-size: 13px; max-width: 100%; overflow-x: auto; }}
.{CSS_CLASS} table {{ border-collapse: collapse; margin: 0.5em 0 1em; }}
.{CSS_CLASS} th, .{CSS_CLASS} td {{ border: 1px solid #ccc; padding: 2px 6px; text-align: right; }}
.{CSS_CLASS} th:first-child, .{CSS_CLASS} td:first-child {{ text-align: left; }}
.{CSS_CLASS} thead th {{ background: #f2f2f2; }}
.{CSS_CLASS} code {{ font-size: 12px; }}
"""


def markdown_fragment(text: str) -> str:
    """The markdown ``text`` (headings, paragraphs, lists, pipe tables, code spans) as an HTML fragment.

    The fragment carries its scoped ``<style>`` so it renders the same standalone and embedded.
    """
    body = markdown.markdown(text, extensions=["tables"], output_format="html")
    return f'<style>{STYLE}</style>\n<div class="{CSS_CLASS}">\n{body}\n</div>\n'


def markdown_page(text: str, title: str) -> str:
    """A complete HTML document showing the markdown ``text`` under ``title``."""
    return (
        '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n{markdown_fragment(text)}</body>\n</html>\n"
    )


def write_markdown_page(
    markdown_path: str | os.PathLike[str], html_path: str | os.PathLike[str], title: str | None = None
) -> None:
    """Render the markdown file ``markdown_path`` to ``html_path`` (atomically); title: its file name."""
    source = Path(markdown_path)
    write_text(html_path, markdown_page(source.read_text(), title or source.name))
