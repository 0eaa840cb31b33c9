"""Helpers that run the real workflow through the snakemake CLI, edit its config and read its output.

Test modules import these from here, never from ``conftest``: several test folders have a
``conftest.py`` of their own, so ``import conftest`` would pick whichever pytest loaded first.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
WORKFLOW_PARTS = ("Snakefile", "rules", "workflow_scripts", "config", "profiles", "envs", "report")
# The markdown tables each module registers with report(); rule report_table_page renders each as
# results/<module>/<name>.html, and reruns it whenever the module's report job rewrites the table.
REPORT_TABLES = {
    "nowcast": ("scores", "comparisons", "loss_shares"),
    "cbh": ("cbh_table", "comparisons"),
    "riskseg": ("ablation", "scores", "success_report", "comparisons"),
    "downscale": ("scores", "write_up_table", "comparisons", "write_up"),
}
# One job block of snakemake's output: "rule name:" (or localrule / checkpoint), then its indented lines.
JOB_BLOCK = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):\n((?:    .*\n?)*)", re.MULTILINE)


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow definition (not results) into ``dest`` so a test owns its working dir."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in WORKFLOW_PARTS:
        src = REPO / part
        if src.is_dir():
            shutil.copytree(src, dest / part, dirs_exist_ok=True)
        elif src.exists():
            shutil.copy2(src, dest / part)
    return dest


def run_snakemake(
    workdir: Path,
    args: Sequence[str],
    *,
    check: bool = True,
    timeout: float = 1200,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``snakemake <args>`` in ``workdir``; on failure with ``check`` show its output and logs."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [SNAKEMAKE, *args],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=full_env,
    )
    if check and proc.returncode != 0:
        logs = "\n".join(
            f"--- {log}\n{log.read_text()[-3000:]}"
            for log in sorted((workdir / "results/logs").rglob("*.log"))
            if "attempts" not in log.relative_to(workdir).parts
        )
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-6000:]}\n{logs}")
    return proc


# What snakemake prints about its profile before it reads the workflow: not part of an error.
PROFILE_NOTICE = re.compile(r"^Using (?:workflow specific )?profile .* for setting default command line arguments\.$")


def only_error_line(result: subprocess.CompletedProcess[str], prefix: str = "invalid config") -> str:
    """The one line a failed run printed, asserting it is all it printed (bar the profile notice)."""
    lines = [
        line for line in (result.stdout + result.stderr).splitlines() if line.strip() and not PROFILE_NOTICE.match(line)
    ]
    assert result.returncode != 0, "the run should have failed"
    assert len(lines) == 1 and lines[0].startswith(prefix), "expected one error line, got:\n" + "\n".join(lines)
    return lines[0]


def table_page_jobs(module: str) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """``(rule, sorted wildcard items)`` of the report_table_page jobs of ``module``'s tables."""
    return {("report_table_page", (("module", module), ("name", name))) for name in REPORT_TABLES[module]}


def load_config(workflow_dir: Path, path: str = "config/test.yaml") -> dict:
    """The config file ``path`` of the workflow copy in ``workflow_dir``."""
    return yaml.safe_load((workflow_dir / path).read_text())


def edit_config(workflow_dir: Path, edit: Callable[[dict], None], path: str = "config/test.yaml") -> dict:
    """Load the config file ``path`` of ``workflow_dir``, apply ``edit`` to it in place, write it back.

    Returns the edited config, e.g. ``edit_config(wf, lambda c: c["riskseg"].update(seed=1))["riskseg"]``.
    """
    config = load_config(workflow_dir, path)
    edit(config)
    (workflow_dir / path).write_text(yaml.safe_dump(config, sort_keys=False))
    return config


def job_counts(output: str) -> dict[str, int]:
    """Jobs per rule in the "Job stats" table of a snakemake run or dry run (``all`` included, total not).

    Snakemake prints the table before and after a dry run; the first one is read. Fails the test if
    the output has no such table or its total is not the sum of its rows.
    """
    lines = output.splitlines()
    if "Job stats:" not in lines:
        pytest.fail(f"no 'Job stats' table in the snakemake output:\n{output[-6000:]}")
    start = lines.index("Job stats:")
    assert lines[start + 1].split() == ["job", "count"], lines[start : start + 3]
    counts: dict[str, int] = {}
    for line in lines[start + 3 :]:
        if not line.strip():
            break
        rule, count = line.split()
        counts[rule] = int(count)
    total = counts.pop("total", None)
    assert total == sum(counts.values()), f"Job stats total {total} != sum of {counts}"
    return counts


def planned_jobs(output: str) -> list[tuple[str, dict[str, str]]]:
    """``(rule, wildcards)`` of every job block in a snakemake run or dry run output, in order."""
    jobs = []
    for rule, body in JOB_BLOCK.findall(output):
        found = re.search(r"^    wildcards: (.*)$", body, re.MULTILINE)
        pairs = found.group(1).split(", ") if found else []
        jobs.append((rule, dict(pair.split("=", 1) for pair in pairs)))
    return jobs


def planned_rerun(workdir: Path, config: str = "config/test.yaml") -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    """``(rule, sorted wildcard items)`` of every job a run of ``config`` in ``workdir`` would run now.

    A dry run: after an edit of a finished run it plans exactly the jobs that run would execute (the
    checkpoint's output is there, so no job waits on one) without spending minutes on executing them.
    """
    proc = run_snakemake(workdir, ["--configfile", config, "--cores", "2", "-n"])
    return {(rule, tuple(sorted(w.items()))) for rule, w in planned_jobs(proc.stdout + proc.stderr)}
