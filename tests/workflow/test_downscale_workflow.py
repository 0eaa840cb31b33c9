"""The downscale experiment through the snakemake CLI on config/test.yaml: cVAE variants to the report.

The shared executed run is read for the outputs; reruns after edits work on a copy of it.
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
import torch
from workflow_helpers import edit_config, load_config, planned_jobs, run_snakemake, table_page_jobs

pytestmark = pytest.mark.workflow

ARGS = ("--configfile", "config/test.yaml", "--cores", "2")


def _one_line(result) -> str:
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    return lines[0]


def test_every_variant_seed_epoch_and_mode_is_sampled_with_the_same_k_and_scored(test_run: Path) -> None:
    block = load_config(test_run)["downscale"]
    downscale = test_run / "results/downscale"
    k = block["sampling"]["k"]
    seeds = {variant: spec.get("seeds", [0]) for variant, spec in block["variants"].items()}
    assert sorted(len(s) for s in seeds.values()) == [1] * (len(seeds) - 1) + [2], "one variant trains 2 seeds"
    for variant in block["variants"]:
        weights = []
        for seed in seeds[variant]:
            run = f"{variant}/seed{seed}"
            checkpoint = torch.load(downscale / f"models/{run}/model.pt", weights_only=True)
            assert checkpoint["meta"]["variant"] == variant and checkpoint["meta"]["module"] == "downscale"
            weights.append(checkpoint["model"])
            for epoch in block["sampling"]["epochs"]:
                for mode in block["sampling"]["modes"]:
                    with h5py.File(downscale / f"samples/{run}/epoch{epoch}_{mode}.h5") as samples:
                        assert samples["samples"].shape[1] == k
                        assert (samples.attrs["epoch"], samples.attrs["mode"]) == (epoch, mode)
                    scores = json.loads((downscale / f"scores/{run}/epoch{epoch}_{mode}.json").read_text())
                    assert scores["k"] == k and scores["crps_mm"] >= 0
                    days = pd.read_csv(downscale / f"scores/{run}/epoch{epoch}_{mode}.units.csv")
                    assert len(days) == scores["n_cases"]
                    assert days["crps_sum_mm"].sum() / days["n_pixels"].sum() == pytest.approx(scores["crps_mm"])
        if len(weights) == 2:
            assert any(not torch.equal(weights[0][key], weights[1][key]) for key in weights[0]), "seeds differ"
    for run in ("baseline/bicubic_noise", "baseline/rainfarm", "oracle/generator"):  # every ensemble has K members
        scores = json.loads((downscale / f"scores/{run}.json").read_text())
        assert scores["k"] == k and len(scores["rank_histogram"]) == k + 1, run
    with h5py.File(downscale / "samples/baseline/rainfarm.h5") as f:  # RainFARM keeps each coarse cell's mass
        factor = int(f.attrs["factor"])
        fine, coarse = f["samples"][()].astype(np.float64), f["coarse"][()]
    n, k_, h, w = fine.shape
    means = fine.reshape(n, k_, h // factor, factor, w // factor, factor).mean(axis=(3, 5))
    np.testing.assert_allclose(means, np.repeat(coarse[:, None], k, axis=1), rtol=1e-4, atol=1e-4)


def test_the_write_up_compares_its_pairs_on_maximum_diversity_and_crps(test_run: Path) -> None:
    downscale = test_run / "results/downscale"
    epoch = load_config(test_run)["downscale"]["sampling"]["epochs"][-1]
    record = json.loads((downscale / "write_up.json").read_text())
    assert record["pairs"] == [[f"v3/epoch{epoch}_prior", f"v1/epoch{epoch}_prior"]]
    assert set(record["metrics"]) == {"max_mm", "diversity_mm", "crps_mm"}
    for name, key in (("max_mm", "samples_max_mm"), ("diversity_mm", "diversity_sum_mm")):
        (result,) = record["metrics"][name]["comparisons"]
        assert result["n_seeds_a"] == 2 and result["n_units"] > 0 and result["role"] == "write-up", name
        days = pd.read_csv(downscale / f"scores/v3/seed0/epoch{epoch}_prior.units.csv")
        per_seed = record["metrics"][name]["entries"][f"v3/epoch{epoch}_prior"]["per_seed"]
        divisor = days["n_cases"].sum() if name == "max_mm" else days["n_pixels"].sum()
        assert per_seed["0"] == pytest.approx(days[key].sum() / divisor)
    crps = record["metrics"]["crps_mm"]["entries"][f"v3/epoch{epoch}_prior"]
    shared = json.loads((downscale / "comparisons.json").read_text())["entries"][f"v3/epoch{epoch}_prior"]
    assert crps["mean"] == pytest.approx(shared["mean"]), "the write-up's CRPS is the comparisons' CRPS"
    assert "mean daily maximum" in (downscale / "write_up.md").read_text()


def test_the_write_up_table_shows_this_runs_prior_and_posterior_maxima(test_run: Path) -> None:
    downscale = test_run / "results/downscale"
    table = (downscale / "write_up_table.md").read_text()
    epoch = load_config(test_run)["downscale"]["sampling"]["epochs"][-1]
    maxima = [json.loads((downscale / f"scores/v3/seed{s}/epoch{epoch}_prior.json").read_text()) for s in (0, 1)]
    assert f"{(maxima[0]['samples_max_mm'] + maxima[1]['samples_max_mm']) / 2:.1f}" in table, "the mean over seeds"


def test_the_scores_table_has_crps_over_seeds_and_the_comparisons_verdicts(test_run: Path) -> None:
    downscale = test_run / "results/downscale"
    epoch = load_config(test_run)["downscale"]["sampling"]["epochs"][-1]
    record = json.loads((downscale / "comparisons.json").read_text())
    assert record["headline"]["a"] == f"v3/epoch{epoch}_prior" and record["headline"]["n_seeds_a"] == 2
    assert record["headline"]["b"] == record["best_baseline"] and record["units"] == "test days"
    pairs = {(r["a"], r["b"], r["role"]) for r in record["comparisons"]}
    assert (f"v3/epoch{epoch}_prior", f"v1/epoch{epoch}_prior", "write-up") in pairs
    assert (f"v3/epoch{epoch}_prior", f"v3/epoch{epoch}_posterior", "write-up") in pairs
    crps = [
        json.loads((downscale / f"scores/v3/seed{s}/epoch{epoch}_prior.json").read_text())["crps_mm"] for s in (0, 1)
    ]
    assert record["entries"][f"v3/epoch{epoch}_prior"]["mean"] == pytest.approx(np.mean(crps))
    table = (downscale / "scores.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith(f"| v3/epoch{epoch}_prior |"))
    assert f"{np.mean(crps):.3f} ± {np.std(crps, ddof=1):.3f}" in row and f"| {record['headline']['verdict']} |" in row
    frame = pd.read_csv(downscale / "scores.csv")
    assert sorted(frame.loc[frame["product"] == f"v3/epoch{epoch}_prior", "seed"]) == [0, 1]


def test_editing_one_variant_reruns_only_its_jobs_and_the_report(test_run_copy: Path) -> None:
    wf = test_run_copy
    edit_config(wf, lambda c: c["downscale"]["variants"]["v1"]["params"].update(latent_dim=5))
    proc = run_snakemake(wf, [*ARGS, "-n"])
    jobs = planned_jobs(proc.stdout + proc.stderr)
    rules = {rule for rule, _ in jobs}
    module_rules = {"downscale_train", "downscale_sample", "downscale_score", "downscale_results", "downscale_write_up"}
    assert rules == module_rules | {"comparisons", "report_table_page", "summary", "all"}, rules
    pages = {(rule, tuple(sorted(w.items()))) for rule, w in jobs if rule == "report_table_page"}
    comparisons_page = ("report_table_page", (("module", "downscale"), ("name", "comparisons")))
    assert pages == table_page_jobs("downscale") | {comparisons_page}, pages
    touched = {w.get("variant") or w.get("run", "").split("/")[0] for rule, w in jobs if rule.startswith("downscale_")}
    assert touched - {None, ""} == {"v1"}, jobs


def test_adding_a_seed_plans_only_that_seeds_jobs(test_run_copy: Path) -> None:
    wf = test_run_copy
    edit_config(wf, lambda c: c["downscale"]["variants"]["v1"].update(seeds=[0, 7]))
    proc = run_snakemake(wf, [*ARGS, "-n"])
    jobs = planned_jobs(proc.stdout + proc.stderr)
    new = [(rule, w) for rule, w in jobs if rule in ("downscale_train", "downscale_sample", "downscale_score")]
    assert new and all(w.get("seed") == "7" or "/seed7/" in w.get("run", "") for _, w in new), new
    assert {rule for rule, _ in jobs} == {
        "downscale_train",
        "downscale_sample",
        "downscale_score",
        "comparisons",
        "downscale_results",
        "downscale_write_up",
        "report_table_page",
        "summary",
        "all",
    }, jobs


def test_editing_the_sampled_epochs_reruns_sampling_and_scoring_of_the_new_epoch_and_no_training(
    test_run_copy: Path,
) -> None:
    """Every periodic epoch's weights are a training output (epochs/), and the sampled epochs are no
    training param: adding a kept epoch plans its sampling and scoring jobs only, and the real rerun
    samples the kept checkpoint of that epoch."""
    wf = test_run_copy
    block = load_config(wf)["downscale"]
    sampled, every = block["sampling"]["epochs"], block["train"]["checkpoint_every"]
    kept = sorted(int(p.stem.removeprefix("epoch")) for p in wf.glob("results/downscale/models/v1/seed0/epochs/*.pt"))
    assert kept == list(range(every, block["train"]["epochs"] + 1, every)) and set(sampled) < set(kept), kept
    new = max(set(kept) - set(sampled))
    edit_config(wf, lambda c: c["downscale"]["sampling"].update(epochs=sorted([*sampled, new])))
    summary = run_snakemake(wf, [*ARGS, "--summary"]).stdout
    assert not [line for line in summary.splitlines() if "/models/" in line and "update pending" in line], summary
    done = run_snakemake(wf, [*ARGS])
    jobs = planned_jobs(done.stdout + done.stderr)
    assert "downscale_train" not in {rule for rule, _ in jobs}, jobs
    sampled_now = {(w["variant"], w["seed"], w["epoch"], w["mode"]) for rule, w in jobs if rule == "downscale_sample"}
    modes = [*block["sampling"]["modes"], *(["posterior_mean"] if new > max(sampled) else [])]
    seeds = {variant: spec.get("seeds", [0]) for variant, spec in block["variants"].items()}
    assert sampled_now == {(v, str(s), str(new), mode) for v in seeds for s in seeds[v] for mode in modes}
    with h5py.File(wf / f"results/downscale/samples/v1/seed0/epoch{new}_prior.h5") as samples:
        assert samples.attrs["epoch"] == new
    # and back: the first epochs' samples are still up to date, so nothing but the tables reruns
    edit_config(wf, lambda c: c["downscale"]["sampling"].update(epochs=sampled))
    again = planned_jobs(run_snakemake(wf, [*ARGS, "-n"]).stdout)
    tables = {"comparisons", "downscale_results", "downscale_write_up", "report_table_page", "summary", "all"}
    assert {rule for rule, _ in again} <= tables


def test_a_sampling_epoch_that_is_never_checkpointed_is_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["downscale"]["sampling"].update(epochs=[3]))
    line = _one_line(snakemake_in("-n", check=False))
    assert line.startswith("invalid config: key 'downscale.sampling.epochs': epoch 3 is never checkpointed"), line


def test_fewer_than_two_samples_is_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["downscale"]["sampling"].update(k=1))
    assert "downscale.sampling.k" in _one_line(snakemake_in("-n", check=False))
