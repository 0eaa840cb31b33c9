"""The summary names no experiment: each declares its title and source key in its own products module, and the
headline, the provenance and the summary's text are made from what the experiments declare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from atmo.settings.workflow import MODULES
from atmo.summary.declared import source_key, spec, title
from atmo.summary.headlines import from_comparisons
from atmo.summary.provenance import data_source
from atmo.summary.render import summary_markdown


@pytest.mark.parametrize("module", MODULES)
def test_every_experiment_declares_its_title_and_source_key(module: str) -> None:
    assert isinstance(spec(module).TITLE, str) and spec(module).TITLE
    assert isinstance(spec(module).SOURCE_KEY, str) and spec(module).SOURCE_KEY


def _comparisons(path: Path, units: str) -> Path:
    entry = {"kind": "model", "mean": 0.5, "sd": 0.1, "seeds": ["0", "1"]}
    record = {
        "metric": "m",
        "label": "score",
        "units": units,
        "scheme": "paired bootstrap",
        "entries": {"a": entry},
        "comparisons": [],
        "headline": None,
        "higher_is_better": True,
    }
    path.write_text(json.dumps(record))
    return path


def test_the_headline_takes_the_declared_title_and_the_text_the_units_of_each_experiment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spec("riskseg"), "TITLE", "as riskseg declares it")
    blocks = _comparisons(tmp_path / "blocks.json", "test blocks")
    days = _comparisons(tmp_path / "days.json", "test days")
    headlines = [from_comparisons("riskseg", blocks), from_comparisons("downscale", days)]
    assert headlines[0].title == "as riskseg declares it" and headlines[1].title == title("downscale")
    assert headlines[1].units == "test days"
    machine = {"cpus": 2, "cpu": "x", "gpus": 0, "platform": "p"}
    provenance = {"commit": None, "config_files": [], "config_sha256": "h", "sources": {}, "date_utc": "d"}
    text = summary_markdown(headlines, {**provenance, "machine": machine, "wall_s": None, "n_jobs": 0, "job_s": 0})
    assert "## riskseg: as riskseg declares it" in text
    assert "held-out data: test blocks or test days that no model" in text
    glance = text.split("## At a glance")[1].split("## riskseg")[0]
    assert "| downscale | " + title("downscale") + " | " + headlines[1].verdict + " |" in glance


def test_a_real_source_is_named_by_the_key_the_experiment_declares(monkeypatch: pytest.MonkeyPatch) -> None:
    block = {"source": "local", source_key("cbh"): "/data/flights", "url": {"manifest": "m"}}
    assert data_source("cbh", block) == "local: /data/flights"
    monkeypatch.setattr(spec("cbh"), "SOURCE_KEY", "elsewhere")
    assert data_source("cbh", {**block, "elsewhere": "/data/other"}) == "local: /data/other"
    assert data_source("cbh", {"source": "url", "url": {"manifest": "m"}}) == "url: {'manifest': 'm'}"
    assert data_source("nowcast", {"source": "synthetic", "seed": 3}) == "synthetic (atmo.nowcast.synthetic, seed 3)"
