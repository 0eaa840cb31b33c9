"""The riskseg experiment through the snakemake CLI on config/test.yaml: tiles to the ablation table.

The shared executed run is read for the outputs; reruns after edits work on a copy of it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from workflow_helpers import edit_config, load_config, planned_jobs, run_snakemake, table_page_jobs

pytestmark = pytest.mark.workflow

ARGS = ("--configfile", "config/test.yaml", "--cores", "2")


def _jobs(workdir: Path, *args: str) -> set[tuple[str, tuple]]:
    proc = run_snakemake(workdir, [*ARGS, *args])
    return {(rule, tuple(sorted(w.items()))) for rule, w in planned_jobs(proc.stdout + proc.stderr)}


def test_every_variant_and_seed_has_a_model_and_georeferenced_probabilities(test_run: Path) -> None:
    block = load_config(test_run)["riskseg"]
    riskseg = test_run / "results/riskseg"
    with rasterio.open(riskseg / "scene.tif") as scene:
        grid = (scene.crs, scene.transform, scene.shape)
    for variant, spec in block["variants"].items():
        for seed in spec["seeds"]:
            meta = torch.load(riskseg / f"models/{variant}/seed{seed}/model.pt", weights_only=True)["meta"]
            assert (meta["variant"], meta["seed"], meta["module"]) == (variant, seed, "riskseg")
            with rasterio.open(riskseg / f"probabilities/{variant}/seed{seed}_plain.tif") as probs:
                assert (probs.crs, probs.transform, probs.shape) == grid and probs.count == 3
                assert probs.overviews(1) and probs.profile["compress"].lower() == "deflate" and probs.profile["tiled"]
                data = probs.read(masked=True)
                np.testing.assert_allclose(data.sum(axis=0).compressed(), 1.0, atol=1e-4)
        with rasterio.open(riskseg / f"ensemble/{variant}/uncertainty.tif") as entropy:
            values = entropy.read(1, masked=True).compressed()
            assert values.min() >= 0 and values.max() <= math.log(3) + 1e-6
        with rasterio.open(riskseg / f"crf/{variant}/{spec['crf']}.tif") as crf:
            assert (crf.crs, crf.transform) == grid[:2] and crf.nodata == 255
            assert set(np.unique(crf.read(1))) <= {0, 1, 2, 255}


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


def test_the_ablation_table_and_success_report_are_this_runs_numbers(test_run: Path) -> None:
    riskseg = test_run / "results/riskseg"
    scores = json.loads((riskseg / "scores.json").read_text())
    table = (riskseg / "ablation.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| without -> with SMOTE"))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    before, after = scores[cells[1]], scores[cells[2]]
    assert float(cells[5]) == pytest.approx(after["kappa_unweighted"] - before["kappa_unweighted"], abs=6e-4)
    assert cells[6] == "+0.025"  # the seed's projection beside the measurement
    final = scores["v25/crf_v25"]
    assert (
        f"| Cohen's kappa (unweighted) | >= 0.480 | {final['kappa_unweighted']:.3f} |"
        in (riskseg / "success_report.md").read_text()
    )


def test_editing_one_variant_reruns_only_its_jobs_and_the_report(test_run_copy: Path) -> None:
    wf = test_run_copy
    # v2's params are a merge (<<: *v25), its own mapping: editing it leaves the anchor's users alone
    edit_config(wf, lambda c: c["riskseg"]["variants"]["v2"]["params"].update(dropout=0.3))
    jobs = _jobs(wf)
    variants = {dict(wildcards)["variant"] for _, wildcards in jobs if "variant" in dict(wildcards)}
    assert variants == {"v2"}, jobs
    rules = {rule for rule, _ in jobs}
    expected = {"riskseg_train", "riskseg_predict", "riskseg_ensemble", "riskseg_crf", "riskseg_score"}
    assert rules == expected | {"riskseg_report", "report_table_page", "summary", "all"}, rules
    pages = {(rule, tuple(sorted(w))) for rule, w in jobs if rule == "report_table_page"}
    assert pages == table_page_jobs("riskseg"), pages


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
