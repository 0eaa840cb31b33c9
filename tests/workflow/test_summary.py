"""results/summary.md: every experiment's headline from its own metrics files, and real provenance."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from workflow_helpers import REPO, load_config

from atmo.settings.experiments import monitorable
from atmo.settings.workflow import validate_workflow_config
from atmo.summary.provenance import config_hash

pytestmark = pytest.mark.workflow


def test_the_summary_gives_every_experiments_headline_as_an_interval_with_its_verdict(test_run: Path) -> None:
    """Each experiment's headline line is its comparisons.json headline: the difference, its interval,
    the units and seeds, and the verdict word the interval gives; summary.json carries every comparison."""
    text = (test_run / "results/summary.md").read_text()
    record = json.loads((test_run / "results/summary.json").read_text())
    for module in ("nowcast", "cbh", "riskseg", "downscale"):
        assert f"## {module}:" in text
        comparisons = json.loads((test_run / f"results/{module}/comparisons.json").read_text())
        headline, experiment = comparisons["headline"], record["experiments"][module]
        assert headline is not None, module
        low, high = headline["low"], headline["high"]
        word = "beats" if low > 0 else "loses" if high < 0 else "does not separate"
        if not comparisons["higher_is_better"] and word != "does not separate":
            word = {"beats": "loses", "loses": "beats"}[word]
        assert headline["verdict"] == word, (module, headline)
        verb = {"loses": "loses to", "does not separate": "does not separate from"}.get(word, word)
        assert experiment["verdict"].startswith(f"`{headline['a']}` {verb} `{headline['b']}`"), experiment["verdict"]
        assert f"[{low:+.3f}, {high:+.3f}]" in experiment["verdict"] and experiment["verdict"] in text
        assert f"over {headline['n_units']} {comparisons['units']}" in experiment["verdict"]
        assert experiment["comparisons"] == comparisons["comparisons"]
        for entry in experiment["comparisons"]:
            assert {"estimate", "low", "high", "n_units", "n_seeds_a", "n_seeds_b", "verdict"} <= set(entry)
    assert "summary: results/summary.md" in (test_run / "run.stdout").read_text()


def test_the_provenance_names_the_real_commit_and_config_hash(test_run: Path) -> None:
    provenance = json.loads((test_run / "results/summary.json").read_text())["provenance"]
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert provenance["commit"] == head.stdout.strip()
    resolved = validate_workflow_config(load_config(test_run))
    assert provenance["config_sha256"] == config_hash(resolved)
    assert provenance["config_files"] == ["config/test.yaml"]
    assert provenance["sources"]["riskseg"].startswith("synthetic")
    assert provenance["n_jobs"] > 50 and provenance["wall_s"] > 0


def test_the_readme_command_fills_blocks_from_the_files_a_run_writes(test_run: Path, tmp_path: Path) -> None:
    """On a real run's files, a block per summary section (and one whole table) is filled with that
    run's text, and then ``--check`` passes; the same blocks against another run's numbers fail it."""
    sources = [
        f"results/summary.md: {s}" for s in ("At a glance", "nowcast", "cbh", "riskseg", "downscale", "Provenance")
    ]
    sources.append("results/nowcast/scores.md")
    readme = tmp_path / "README.md"
    readme.write_text("".join(f"<!-- generated from {s} -->\nstale\n<!-- end generated -->\n\n" for s in sources))
    command = [sys.executable, "-m", "atmo.summary.readme", str(readme), "--run-dir", str(test_run)]
    assert subprocess.run([*command, "--check"], capture_output=True, text=True).returncode == 1
    rewritten = subprocess.run(command, capture_output=True, text=True)
    assert rewritten.returncode == 0, rewritten.stderr
    text = readme.read_text()
    summary = json.loads((test_run / "results/summary.json").read_text())
    assert f"`{summary['provenance']['commit']}`" in text and "stale" not in text
    for experiment in summary["experiments"].values():
        assert experiment["verdict"] in text
    assert subprocess.run([*command, "--check"], capture_output=True, text=True).returncode == 0


TRAINING_RULES = {
    "nowcast": ["nowcast_train"],
    "cbh": ["cbh_pretrain_mae", "cbh_train"],
    "riskseg": ["riskseg_train"],
    "downscale": ["downscale_train"],
}
EPOCH_LINE = re.compile(r"atmo\.train\.trainer: epoch (\d+)/(\d+) .*\btrain_loss=\S+ .*\bval_\w+=[-+0-9.e]+")


def test_every_training_log_shows_each_epochs_loss_and_validation_metric(test_run: Path) -> None:
    for module, rules in TRAINING_RULES.items():
        for rule in rules:
            logs = sorted((test_run / "results/logs" / module / rule).rglob("*.log"))
            assert logs, f"no logs of {rule}"
            for log in logs:
                text = log.read_text()
                where = log.relative_to(test_run)
                if "epochs: 0, the initial weights exported untrained" in text:  # the untrained control
                    assert not EPOCH_LINE.findall(text), where
                    continue
                epochs = [(int(k), int(n)) for k, n in EPOCH_LINE.findall(text)]
                assert epochs, f"{where}: no per-epoch progress line"
                total = epochs[0][1]
                assert [k for k, _ in epochs] == list(range(1, len(epochs) + 1)), f"{where}: {epochs}"
                assert all(n == total for _, n in epochs) and len(epochs) <= total, where


def test_every_metric_a_monitor_may_name_is_in_every_history_of_its_block(test_run: Path) -> None:
    """Each spec's MONITORABLE (atmo/<module>/spec.py, checked at parse time) against what training really logged."""
    histories = {
        "nowcast.train": "results/nowcast/models/*/seed*/history.csv",
        "cbh.train": "results/cbh/models/*/seed*/fold*/history.csv",
        "cbh.mae.train": "results/cbh/mae/**/history.csv",
        "riskseg.train": "results/riskseg/models/*/*/history.csv",
        "downscale.train": "results/downscale/models/*/*/history.csv",
    }
    metrics = monitorable()
    assert set(histories) == set(metrics)
    for block, pattern in histories.items():
        files = sorted(test_run.glob(pattern))
        assert files, f"no history for {block} ({pattern})"
        for path in files:
            header, *rows = path.read_text().splitlines()
            columns = set(header.split(","))
            logged = set(metrics[block])
            if [row.split(",")[0] for row in rows] == ["0"]:  # an untrained control: validation only
                logged = {name for name in logged if name.startswith("val_")}
            assert logged <= columns, f"{path}: {sorted(logged - columns)}"
