"""Rewrite the result blocks of the README and docs/ from the files a run wrote, so no number is retyped.

A block in a markdown page is delimited by two HTML comments (invisible on GitHub)::

    <!-- generated from results/summary.md: hail -->
    ...whatever the last update wrote...
    <!-- end generated -->

and its body is replaced by the named file's text: with ``: <section>``, the body of the section
whose ``## `` heading starts with ``<section>:`` or equals ``<section>`` (heading excluded);
without one, the whole file less its ``# `` title. Paths are relative to the run directory.

``python -m atmo.summary.readme README.md docs`` rewrites the blocks of README.md and of every
``docs/*.md`` in place (``make readme``; a folder stands for the ``*.md`` files directly in it);
``--check`` rewrites nothing and exits 1 naming each page and block that differs, so a page that
no longer matches the run it quotes is caught. A block naming a file or a section the run did not
write is one line naming the page, its line and the file, and then no page is written at all: the
pages quote one run, so they are rewritten together or not at all.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from atmo.errors import InputError
from atmo.io.atomic import write_text

BEGIN = re.compile(r"^<!-- generated from (?P<path>[^:\s]+)(?:: (?P<section>[^>]+?))? -->$")
END = "<!-- end generated -->"


def section_text(text: str, section: str | None) -> str | None:
    """The part of markdown ``text`` a block quotes (see the module docstring); None if absent."""
    lines = text.strip("\n").splitlines()
    if section is None:
        if lines and lines[0].startswith("# "):
            lines = lines[1:]
        return "\n".join(lines).strip("\n")
    for start, line in enumerate(lines):
        title = line.removeprefix("## ").strip()
        if line.startswith("## ") and (title == section or title.startswith(f"{section}:")):
            body = []
            for following in lines[start + 1 :]:
                if following.startswith(("## ", "# ")):
                    break
                body.append(following)
            return "\n".join(body).strip("\n")
    return None


def update_blocks(readme: str, read: Callable[[str], str | None], where: str = "README.md") -> tuple[str, list[str]]:
    """``readme`` with every block's body replaced, and the sources of the blocks that changed.

    ``read(path)`` returns a run file's text, or None when the run did not write it.
    """
    out, changed, lines = [], [], readme.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        begin = BEGIN.match(line.strip())
        index += 1
        if begin is None:
            continue
        source = begin["path"] + (f": {begin['section']}" if begin["section"] else "")
        end = next((i for i in range(index, len(lines)) if lines[i].strip() == END), None)
        if end is None:
            raise InputError(f"{where}:{index}", f"block '{source}' has no '{END}' line")
        text = read(begin["path"])
        if text is None:
            raise InputError(f"{where}:{index}", f"block '{source}': {begin['path']} does not exist (run the workflow)")
        body = section_text(text, begin["section"])
        if body is None:
            raise InputError(
                f"{where}:{index}", f"block '{source}': {begin['path']} has no section '{begin['section']}'"
            )
        new = ["", *body.splitlines(), ""]
        if lines[index:end] != new:
            changed.append(source)
        out += [*new, lines[end]]
        index = end + 1
    return "\n".join(out) + ("\n" if readme.endswith("\n") else ""), changed


def _reader(root: Path) -> Callable[[str], str | None]:
    def read(path: str) -> str | None:
        file = root / path
        return file.read_text() if file.is_file() else None

    return read


def markdown_pages(paths: Sequence[Path]) -> list[Path]:
    """The pages ``paths`` name: each file as given, each folder as the ``*.md`` directly in it, sorted.

    A folder is expanded here rather than by the shell so that ``make readme`` picks up a new
    ``docs/`` page without anyone editing the Makefile.
    """
    pages = []
    for path in paths:
        if path.is_dir():
            pages += sorted(path.glob("*.md"))
        elif path.is_file():
            pages.append(path)
        else:
            raise InputError(path, "no such markdown file or folder")
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m atmo.summary.readme", description=__doc__.splitlines()[0])
    parser.add_argument("pages", type=Path, nargs="+", help="markdown files, or folders of them, to update in place")
    parser.add_argument("--run-dir", type=Path, default=Path("."), help="where the run's results/ are (default: .)")
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a block differs")
    args = parser.parse_args(argv)
    try:
        pages = markdown_pages(args.pages)
    except InputError as error:
        print(error, file=sys.stderr)
        return 2
    read = _reader(args.run_dir)
    updates, errors = [], []
    for page in pages:
        try:
            updates.append((page, *update_blocks(page.read_text(), read, where=os.fspath(page))))
        except InputError as error:
            errors.append(error)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        return 2
    if args.check:
        stale = [(page, source) for page, _, changed in updates for source in changed]
        for page, source in stale:
            print(f"{page}: block '{source}' differs from the run in {args.run_dir}", file=sys.stderr)
        return 1 if stale else 0
    for page, text, changed in updates:
        if changed:
            write_text(page, text)
        print(f"{page}: {len(changed)} block(s) rewritten" + (f": {', '.join(changed)}" if changed else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
