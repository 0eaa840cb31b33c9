"""Write ``results/summary.md``, its HTML page (the report's front page) and its JSON twin."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from atmo.io.atomic import write_json, write_text
from atmo.publish.html import markdown_page
from atmo.summary.headlines import Headline


def _hours(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s"


def _either(words: Sequence[str]) -> str:
    """``a``, ``a or b``, ``a, b or c``: each distinct word once, in order."""
    distinct = list(dict.fromkeys(words))
    return " or ".join([", ".join(distinct[:-1]), distinct[-1]] if len(distinct) > 1 else distinct)


def glance_table(headlines: Sequence[Headline]) -> list[str]:
    """One row per experiment, its headline verdict: the whole run in a few lines (the README quotes it)."""
    rows = [f"| {h.module} | {h.title} | {h.verdict.replace('|', '/')} |" for h in headlines]
    return ["| experiment | question | headline verdict |", "| --- | --- | --- |", *rows]


def summary_markdown(headlines: Sequence[Headline], provenance: Mapping[str, Any]) -> str:
    """The summary: the verdicts at a glance, one section per experiment (verdict, table), then the provenance."""
    lines = ["# Atmo: summary of this run", ""]
    lines.append(
        "Every number is read from the modules' own metrics files (paths under each table) and is on held-out "
        f"data: {_either([h.units for h in headlines])} that no model trained or early-stopped on. "
        "Scores are the mean ± sd over training seeds; a difference carries its paired 95 % bootstrap interval "
        'over the experiment\'s test units, and "beats" means that interval excludes 0 (atmo/metrics/paired.py).'
    )
    lines += ["", "## At a glance", "", *glance_table(headlines)]
    for headline in headlines:
        lines += ["", f"## {headline.module}: {headline.title}", "", headline.verdict, "", headline.markdown().rstrip()]
        lines += ["", f"From {', '.join(f'`{s}`' for s in headline.sources)}."]
    p, m = provenance, provenance["machine"]
    commit = p["commit"] or "unknown (not a git checkout)"
    if p.get("dirty"):
        commit += " (with uncommitted changes to the workflow)"
    lines += [
        "",
        "## Provenance",
        "",
        "| what | value |",
        "| --- | --- |",
        f"| config files | {', '.join(p['config_files']) or 'none'} |",
        f"| resolved config (SHA-256) | `{p['config_sha256']}` |",
        f"| git commit | `{commit}` |",
        *(f"| data: {module} | {source} |" for module, source in p["sources"].items()),
        f"| date | {p['date_utc']} |",
        f"| machine | {m['cpus']} x {m['cpu']}, {m['gpus']} GPU(s), {m['platform']} |",
        f"| wall time (benchmark files) | {_hours(p['wall_s'])} over {p['n_jobs']} jobs "
        f"({_hours(p['job_s'])} of job time) |",
    ]
    return "\n".join(lines) + "\n"


def write_summary(
    headlines: Sequence[Headline],
    provenance: Mapping[str, Any],
    markdown_path: str | os.PathLike[str],
    json_path: str | os.PathLike[str],
    html_path: str | os.PathLike[str],
) -> None:
    """Write the three files, each atomically, after all three are rendered."""
    text = summary_markdown(headlines, provenance)
    record = {
        "provenance": dict(provenance),
        "experiments": {
            h.module: {
                "verdict": h.verdict,
                "rows": {r.name: {"kind": r.kind, **r.scores} for r in h.rows},
                "comparisons": h.comparisons,
            }
            for h in headlines
        },
    }
    page = markdown_page(text, "Atmo: summary of this run")
    write_text(markdown_path, text)
    write_text(html_path, page)
    write_json(json_path, record)
