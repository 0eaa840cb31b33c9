"""Where a run's numbers come from: config and its hash, git commit, data sources, date, machine, wall time.

The wall time is read from the ``benchmark:`` files every rule writes: a job's start is its file's
modification time minus its recorded seconds, so the run's span is from the earliest start to the
latest end, and the summed seconds are the compute the jobs took.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from atmo.machine import count_local_gpus
from atmo.summary.declared import source_key


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 of the resolved config as canonical JSON (sorted keys): equal configs, equal hashes."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def git_commit(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """``{"commit", "dirty"}`` of the git checkout holding ``directory``; ``commit`` None outside one.

    ``dirty`` is True when tracked files differ from the commit (the numbers then come from code
    that no commit holds).
    """

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", os.fspath(directory), *args], capture_output=True, text=True, timeout=30
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    changed = git(
        "status",
        "--porcelain",
        "--untracked-files=no",
        "--",
        "Snakefile",
        "rules",
        "workflow_scripts",
        "config",
        "atmo",
    )
    return {"commit": commit, "dirty": bool(changed)}


def run_time(benchmark_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Wall time (earliest job start to latest job end) and summed job seconds from the benchmark files."""
    starts, ends, total, n_jobs = [], [], 0.0, 0
    for path in Path(benchmark_dir).rglob("*.tsv"):
        with path.open() as handle:
            rows = list(csv.DictReader(handle, delimiter="\t"))
        if not rows:
            continue
        seconds = float(rows[-1]["s"])
        end = path.stat().st_mtime
        starts.append(end - seconds)
        ends.append(end)
        total += seconds
        n_jobs += 1
    if not n_jobs:
        return {"wall_s": None, "job_s": 0.0, "n_jobs": 0}
    return {"wall_s": max(ends) - min(starts), "job_s": total, "n_jobs": n_jobs}


def data_source(module: str, block: Mapping[str, Any]) -> str:
    """Where experiment ``module``'s data come from, from its config ``block``: the synthetic generator and its
    seed, or the real source and where it reads from (the key the experiment declares, else its ``url``)."""
    source = block["source"]
    if source == "synthetic":
        return f"synthetic (atmo.{module}.synthetic, seed {block['seed']})"
    detail = block.get(source_key(module)) or block.get("url") or {}
    return f"{source}: {detail}"


def machine() -> dict[str, Any]:
    """The machine the summary was made on: CPU model and count, visible GPUs, OS."""
    model = platform.processor() or "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {"cpu": model, "cpus": os.cpu_count(), "gpus": count_local_gpus(), "platform": platform.platform()}


def code_dir() -> Path:
    """The checkout the running ``atmo`` library comes from (its commit is the code's commit)."""
    return Path(__file__).resolve().parents[2]


def provenance(
    *,
    config: Mapping[str, Any],
    config_files: list[str],
    sources: Mapping[str, str],
    benchmark_dir: str | os.PathLike[str],
) -> dict[str, Any]:
    """Everything :mod:`atmo.summary.render` prints under "Provenance"."""
    return {
        "config_files": [
            os.path.relpath(path) if Path(path).is_relative_to(Path.cwd()) else path for path in config_files
        ],
        "config_sha256": config_hash(config),
        **git_commit(code_dir()),
        "sources": dict(sources),
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        **run_time(benchmark_dir),
    }
