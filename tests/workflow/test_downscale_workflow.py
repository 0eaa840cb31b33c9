"""The downscale experiment through the snakemake CLI on config/test.yaml: cVAE variants to the report.

The shared executed run is read for the outputs; reruns after edits work on a copy of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import pytest
import torch
from workflow_helpers import edit_config, load_config, planned_jobs, run_snakemake, table_page_jobs

pytestmark = pytest.mark.workflow

ARGS = ("--configfile", "config/test.yaml", "--cores", "2")


def _one_line(result) -> str:
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    return lines[0]


def test_every_variant_epoch_and_mode_is_sampled_with_the_same_k_and_scored(test_run: Path) -> None:
    block = load_config(test_run)["downscale"]
    downscale = test_run / "results/downscale"
    k = block["sampling"]["k"]
    for variant in block["variants"]:
        meta = torch.load(downscale / f"models/{variant}/model.pt", weights_only=True)["meta"]
        assert meta["variant"] == variant and meta["module"] == "downscale"
        for epoch in block["sampling"]["epochs"]:
            for mode in block["sampling"]["modes"]:
                with h5py.File(downscale / f"samples/{variant}/epoch{epoch}_{mode}.h5") as samples:
                    assert samples["samples"].shape[1] == k
                    assert (samples.attrs["epoch"], samples.attrs["mode"]) == (epoch, mode)
                scores = json.loads((downscale / f"scores/{variant}/epoch{epoch}_{mode}.json").read_text())
                assert scores["k"] == k and scores["crps_mm"] >= 0
    noise = json.loads((downscale / "scores/baseline/bicubic_noise.json").read_text())
    assert noise["k"] == k and len(noise["rank_histogram"]) == k + 1


def test_the_seed_table_shows_this_runs_prior_and_posterior_maxima(test_run: Path) -> None:
    downscale = test_run / "results/downscale"
    table = (downscale / "seed_table.md").read_text()
    epoch = load_config(test_run)["downscale"]["sampling"]["epochs"][-1]
    prior = json.loads((downscale / f"scores/v3/epoch{epoch}_prior.json").read_text())
    assert f"{prior['samples_max_mm']:.1f}" in table


def test_editing_one_variant_reruns_only_its_jobs_and_the_report(test_run_copy: Path) -> None:
    wf = test_run_copy
    edit_config(wf, lambda c: c["downscale"]["variants"]["v1"]["params"].update(latent_dim=5))
    proc = run_snakemake(wf, [*ARGS])
    jobs = planned_jobs(proc.stdout + proc.stderr)
    rules = {rule for rule, _ in jobs}
    module_rules = {"downscale_train", "downscale_sample", "downscale_score", "downscale_report"}
    assert rules == module_rules | {"report_table_page", "summary", "all"}, rules
    pages = {(rule, tuple(sorted(w.items()))) for rule, w in jobs if rule == "report_table_page"}
    assert pages == table_page_jobs("downscale"), pages
    touched = {w.get("variant") or w.get("run", "").split("/")[0] for rule, w in jobs if rule.startswith("downscale_")}
    assert touched - {None, ""} == {"v1"}, jobs


def test_a_sampling_epoch_that_is_never_checkpointed_is_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["downscale"]["sampling"].update(epochs=[3]))
    line = _one_line(snakemake_in("-n", check=False))
    assert line.startswith("invalid config: key 'downscale.sampling.epochs': epoch 3 is never checkpointed"), line


def test_fewer_than_two_samples_is_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["downscale"]["sampling"].update(k=1))
    assert "downscale.sampling.k" in _one_line(snakemake_in("-n", check=False))
