"""The riskseg experiment through the snakemake CLI on config/test.yaml: tiles to the ablation table.

The shared executed run is read for the outputs; reruns after edits work on a copy of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
import torch
from workflow_helpers import edit_config, load_config, planned_rerun, table_page_jobs

from atmo.metrics.pooled import cohen_kappa
from atmo.metrics.unit_stats import read_unit_stats
from atmo.publish.comparisons import sentence
from atmo.riskseg.choice import read_decision
from atmo.riskseg.decision import decide

pytestmark = pytest.mark.workflow

ARGS = ("--configfile", "config/test.yaml", "--cores", "2")


def test_every_variant_and_seed_has_a_model_and_georeferenced_probabilities(test_run: Path) -> None:
    block = load_config(test_run)["riskseg"]
    riskseg = test_run / "results/riskseg"
    with rasterio.open(riskseg / "scene.tif") as scene:
        grid = (scene.crs, scene.transform, scene.shape)
    for variant, spec in block["variants"].items():
        for seed in spec["seeds"]:
            if not spec.get("weights_from"):
                meta = torch.load(riskseg / f"models/{variant}/seed{seed}/model.pt", weights_only=True)["meta"]
                assert (meta["variant"], meta["seed"], meta["module"]) == (variant, seed, "riskseg")
            with rasterio.open(riskseg / f"probabilities/{variant}/seed{seed}_plain.tif") as probs:
                assert (probs.crs, probs.transform, probs.shape) == grid and probs.count == 3
                assert probs.tags()["head"] == spec.get("head", "softmax")
                assert probs.overviews(1) and probs.profile["compress"].lower() == "deflate" and probs.profile["tiled"]
                data = probs.read(masked=True)
                np.testing.assert_allclose(data.sum(axis=0).compressed(), 1.0, atol=1e-4)
        with rasterio.open(riskseg / f"ensemble/{variant}/uncertainty.tif") as entropy:
            values = entropy.read(1, masked=True).compressed()
            assert values.min() >= 0 and values.max() <= math.log(3) + 1e-6
    for variant in (block["comparison"]["full"], block["comparison"]["v2"]):
        with rasterio.open(riskseg / f"crf/{variant}/{block['variants'][variant]['crf']}.tif") as crf:
            assert (crf.crs, crf.transform) == grid[:2] and crf.nodata == 255
            assert set(np.unique(crf.read(1))) <= {0, 1, 2, 255}


def test_the_head_ablation_decodes_the_full_variants_own_models_with_the_other_head(test_run: Path) -> None:
    block = load_config(test_run)["riskseg"]
    riskseg = test_run / "results/riskseg"
    assert block["variants"]["v25_softmax_head"]["weights_from"] == "v25"
    assert not (riskseg / "models/v25_softmax_head").exists()  # no training of its own
    with rasterio.open(riskseg / "probabilities/v25/seed1_plain.tif") as coral:
        coral_probs = coral.read(masked=True)
    with rasterio.open(riskseg / "probabilities/v25_softmax_head/seed1_plain.tif") as softmax:
        softmax_probs = softmax.read(masked=True)
    assert np.abs(coral_probs - softmax_probs).max() > 0.01  # one model, two decodings
    log = (test_run / "results/logs/riskseg/riskseg_predict/v25_softmax_head/seed1_plain.log").read_text()
    assert "head=softmax" in log


def test_oversampling_adds_tiles_only_to_training_and_smote_only_where_asked(test_run: Path) -> None:
    riskseg = test_run / "results/riskseg"
    duplicate = json.loads((riskseg / "oversampled/duplicate.json").read_text())
    smote = json.loads((riskseg / "oversampled/smote.json").read_text())
    assert duplicate["n_synthetic"] == 0 and duplicate["n_duplicated"] > 0
    assert smote["n_synthetic"] > 0
    shares = smote["class_fractions"]
    assert shares["after_smote"]["1"] > shares["after_duplication"]["1"] > shares["before"]["1"]
    success = (riskseg / "success_report.md").read_text()
    assert f"{smote['n_synthetic']} synthesised (SMOTE)" in success


def _cells(table: str, start: str) -> list[str]:
    row = next(line for line in table.splitlines() if line.startswith(start))
    return [cell.strip() for cell in row.strip("|").split("|")]


def test_the_ablation_table_and_success_report_are_this_runs_numbers(test_run: Path) -> None:
    riskseg = test_run / "results/riskseg"
    block = load_config(test_run)["riskseg"]
    scores = json.loads((riskseg / "scores.json").read_text())
    record = json.loads((riskseg / "comparisons.json").read_text())
    cells = _cells((riskseg / "ablation.md").read_text(), "| without -> with SMOTE")
    assert cells[1:3] == ["v25_no_smote/single_plain", "v25/single_plain"]  # compared seed by seed
    full_kappa = np.mean([scores[f"v25/seed{s}_plain"]["kappa_unweighted"] for s in block["variants"]["v25"]["seeds"]])
    delta = full_kappa - scores["v25_no_smote/seed1_plain"]["kappa_unweighted"]
    assert float(cells[3].split(" [")[0]) == pytest.approx(delta, abs=6e-4)
    ablation = next(r for r in record["comparisons"] if r["a"] == "v25_no_smote/single_plain")
    assert ablation["b"] == "v25/single_plain" and ablation["n_seeds_b"] == 2
    assert cells[3] == f"{-ablation['estimate']:+.3f} [{-ablation['high']:+.3f}, {-ablation['low']:+.3f}]"
    assert cells[4] == "+0.025"  # the write-up's projection beside the measurement
    assert cells[5] in ("beats", "loses", "does not separate")
    final = scores["v25/crf_v25_ordinal"]
    success = (riskseg / "success_report.md").read_text()
    assert f"| Cohen's kappa (unweighted) | >= 0.480 | {final['kappa_unweighted']:.3f} |" in success
    assert record["headline"]["b"] == record["best_baseline"]
    assert "Headline: " + sentence(record["headline"], record["label"], record["units"], 3) in success
    # every CRF product's class counts, ensemble -> CRF, from the scores' confusion matrices
    for product in ("v25/crf_v25", "v25/crf_v25_ordinal", "v2/crf_v2"):
        before = np.sum(scores[product.split("/")[0] + "/ensemble"]["confusion"], axis=0)
        after = np.sum(scores[product]["confusion"], axis=0)
        assert " / ".join(f"{b} -> {a}" for b, a in zip(before, after, strict=True)) in success, product
    table = (riskseg / "ablation.md").read_text()
    potts = _cells(table, "| CRF v25 -> v25_ordinal (potts -> ordinal compatibility)")
    result = next(r for r in record["comparisons"] if (r["a"], r["b"]) == ("v25/crf_v25", "v25/crf_v25_ordinal"))
    assert potts[3] == f"{-result['estimate']:+.3f} [{-result['high']:+.3f}, {-result['low']:+.3f}]"
    head = _cells(table, "| softmax -> coral head (same weights)")
    assert head[1:3] == ["v25_softmax_head/single_plain", "v25/single_plain"] and head[5] != "not compared"
    tta = _cells(table, "| without -> with TTA")
    assert tta[1:3] == ["v25/single_plain", "v25/single_tta"] and tta[4] == "+0.015" and tta[5] != "not compared"


def test_per_block_units_reform_the_scores_and_the_tables_show_seeds(test_run: Path) -> None:
    riskseg = test_run / "results/riskseg"
    scores = json.loads((riskseg / "scores.json").read_text())
    tiles = json.loads((riskseg / "tiles/summary.json").read_text())
    metric = cohen_kappa(3)
    for product in ("v25/seed1_plain", "v25/crf_v25_ordinal", "v2/crf_v2"):
        units = read_unit_stats(riskseg / f"units/{product}.csv")
        assert len(units) == tiles["splits"]["test"]["n_blocks"]
        pooled = metric.formula(units[list(metric.statistics)].to_numpy(dtype=float).sum(axis=0))
        assert pooled == pytest.approx(scores[product]["kappa_unweighted"])
    record = json.loads((riskseg / "comparisons.json").read_text())
    baselines = {name: e["mean"] for name, e in record["entries"].items() if e["kind"] == "baseline"}
    assert set(baselines) == {"v2/crf_v2", *load_config(test_run)["riskseg"]["baselines"]}
    assert record["headline"]["a"] == "v25/crf_v25_ordinal" and record["best_baseline"] == max(
        baselines, key=baselines.get
    )
    assert record["entries"]["v25/single_plain"]["seeds"] == ["1", "2"]
    mean, sd = record["entries"]["v25/single_plain"]["mean"], record["entries"]["v25/single_plain"]["sd"]
    cells = _cells((riskseg / "scores.md").read_text(), "| v25/single_plain")
    assert cells[2] == f"{mean:.3f} ± {sd:.3f}" and cells[-1] in ("beats", "loses", "does not separate")
    frame = pd.read_csv(riskseg / "scores.csv", dtype={"seed": str}).set_index("product")
    assert frame.loc["v25/seed2_plain", ["entry", "seed"]].tolist() == ["v25/single_plain", "2"]


def test_the_baselines_and_the_oracle_are_scored_like_every_product(test_run: Path) -> None:
    """Each pixel baseline and the oracle: a probability raster on the scene's grid, a decision chosen on its
    validation blocks, scores re-formed from per-test-block units; the final product meets every baseline,
    the oracle is shown last and never compared."""
    riskseg = test_run / "results/riskseg"
    baselines = list(load_config(test_run)["riskseg"]["baselines"])
    scores = json.loads((riskseg / "reference_scores.json").read_text())
    assert set(scores) == {*baselines, "oracle"}
    tiles = json.loads((riskseg / "tiles/summary.json").read_text())
    metric = cohen_kappa(3)
    for name, values in scores.items():
        decision = json.loads((riskseg / f"reference_decisions/{name}.json").read_text())
        assert (decision["split"], values["decision"]) == ("val", decision["decision"])
        units = read_unit_stats(riskseg / f"units/{name}.csv")
        assert len(units) == tiles["splits"]["test"]["n_blocks"]
        pooled = metric.formula(units[list(metric.statistics)].to_numpy(dtype=float).sum(axis=0))
        assert pooled == pytest.approx(values["kappa_unweighted"])
    for name in baselines:
        fit = json.loads((riskseg / f"baselines/{name}/fit.json").read_text())
        assert fit["n_train_pixels"] > 0 and fit["fit_seconds"] >= 0
    record = json.loads((riskseg / "comparisons.json").read_text())
    pairs = {(r["a"], r["b"]) for r in record["comparisons"]}
    assert {("v25/crf_v25_ordinal", name) for name in baselines} <= pairs
    assert record["entries"]["oracle"]["kind"] == "oracle" and not any("oracle" in pair for pair in pairs)
    table = (riskseg / "scores.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| ") and " | " in line]
    assert rows[-1].startswith("| oracle") and all(any(r.startswith(f"| {n} ") for r in rows) for n in baselines)
    assert "Oracle `oracle`" in (riskseg / "success_report.md").read_text()


def test_each_variants_decision_rule_is_fitted_on_validation_and_used_downstream(test_run: Path) -> None:
    riskseg = test_run / "results/riskseg"
    scores = json.loads((riskseg / "scores.json").read_text())
    for variant in ("v25", "v2", "v25_softmax_head"):
        decision = json.loads((riskseg / f"decision/{variant}.json").read_text())
        assert (decision["setting"], decision["chosen_by"], decision["split"]) == ("auto", "validation", "val")
        assert (decision["criterion"], decision["min_class2_recall"]) == ("kappa_unweighted", 0.93)
        best = decision["best_per_rule"][decision["decision"]]
        assert decision["validation"]["criterion"] == best["criterion"]
        met = [r for r in decision["best_per_rule"].values() if r["constraint_met"]]
        if decision["constraint_met"]:  # the best kappa among the rules that reach the floor
            assert best["criterion"] == max(r["criterion"] for r in met)
        else:  # none does: the highest class-2 recall
            assert not met and best["recall_high"] == max(r["recall_high"] for r in decision["best_per_rule"].values())
        for product, values in scores.items():
            if product.startswith(f"{variant}/") and not product.startswith(f"{variant}/ensemble_"):
                assert (values["decision"], values["thresholds"]) == (decision["decision"], decision["thresholds"])
    assert (scores["v25/ensemble_argmax"]["decision"], scores["v25/ensemble_median"]["decision"]) == (
        "argmax",
        "median",
    )
    # the ensemble's class raster is its probabilities under its variant's rule
    decision = read_decision(riskseg / "decision/v25.json")
    with (
        rasterio.open(riskseg / "ensemble/v25/probabilities.tif") as probs,
        rasterio.open(riskseg / "ensemble/v25/classes.tif") as classes,
    ):
        mean, stored = probs.read(), classes.read(1)
        valid = stored != 255
        # the stored mean is float32: a pixel exactly at a threshold may round to the other side
        assert np.mean(stored[valid] == decide(mean, decision)[valid]) > 0.999


def test_editing_one_variant_reruns_only_its_jobs_and_the_report(test_run_copy: Path) -> None:
    wf = test_run_copy
    # v2's params are a merge (<<: *v25), its own mapping: editing it leaves the anchor's users alone
    edit_config(wf, lambda c: c["riskseg"]["variants"]["v2"]["params"].update(dropout=0.3))
    jobs = planned_rerun(wf)
    variants = {dict(wildcards)["variant"] for _, wildcards in jobs if "variant" in dict(wildcards)}
    assert variants == {"v2"}, jobs
    rules = {rule for rule, _ in jobs}
    expected = {
        "riskseg_train",
        "riskseg_predict",
        "riskseg_decision",
        "riskseg_ensemble",
        "riskseg_crf",
        "riskseg_score",
        "comparisons",
    }
    assert rules == expected | {"riskseg_results", "report_table_page", "summary", "all"}, rules
    pages = {(rule, tuple(sorted(w))) for rule, w in jobs if rule == "report_table_page"}
    comparisons_page = ("report_table_page", (("module", "riskseg"), ("name", "comparisons")))
    assert pages == table_page_jobs("riskseg") | {comparisons_page}, pages


def test_editing_an_ablations_seed_list_adds_only_its_jobs(test_run_copy: Path) -> None:
    wf = test_run_copy
    edit_config(wf, lambda c: c["riskseg"]["variants"]["v25_no_smote"].update(seeds=[1, 7]))
    jobs = planned_rerun(wf)
    models = {(rule, dict(w).get("seed")) for rule, w in jobs if rule in ("riskseg_train", "riskseg_predict")}
    assert models == {("riskseg_train", "7"), ("riskseg_predict", "7")}, jobs
    rules = {rule for rule, _ in jobs}
    # the new seed joins the ablation's decision, ensemble and the scores; nothing of the full variant or V2 reruns
    assert rules - {"riskseg_results", "report_table_page", "summary", "all"} == {
        "riskseg_train",
        "riskseg_predict",
        "riskseg_decision",
        "riskseg_ensemble",
        "riskseg_score",
        "comparisons",
    }, rules
    assert {dict(w)["variant"] for rule, w in jobs if rule in ("riskseg_ensemble", "riskseg_decision")} == {
        "v25_no_smote"
    }


def test_too_few_rich_tiles_for_smote_stop_the_oversampling_job_in_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["riskseg"]["oversampling"]["smote"].update(k_neighbors=40))
    result = snakemake_in("results/riskseg/oversampled/smote.json", "--config", "modules=[riskseg]", check=False)
    log = (workflow_dir / "results/logs/riskseg/riskseg_oversample/smote.log").read_text()
    assert result.returncode != 0
    assert "invalid config: key 'riskseg.oversampling.smote.k_neighbors'" in log, log[-2000:]
    assert not (workflow_dir / "results/riskseg/oversampled/smote.h5").exists()


def test_a_variant_naming_a_missing_crf_is_one_line(workflow_dir: Path, snakemake_in) -> None:
    edit_config(workflow_dir, lambda c: c["riskseg"]["variants"]["v2"].update(crf="v3"))
    result = snakemake_in("-n", check=False)
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("invalid config: key 'riskseg.variants.v2.crf': 'v3' is not an entry of riskseg.crf")
