"""Every shipped config builds the DAG its settings call for, and the workflow passes Snakemake's linter."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from workflow_helpers import JOB_BLOCK, REPORT_TABLES, job_counts, load_config, only_error_line, planned_jobs

from atmo.io.download import read_manifest

pytestmark = pytest.mark.workflow

Job = tuple[str, dict[str, str]]


def expected_jobs(config: dict, workflow_dir: Path) -> list[Job]:
    """``(rule, wildcards)`` of every job a fresh run of ``config`` plans, derived from the config (rules/*.smk)."""
    modules = config["modules"]
    jobs: list[Job] = [("all", {}), ("summary", {})]
    jobs += [("report_table_page", {"module": m, "name": name}) for m in modules for name in REPORT_TABLES[m]]
    if "nowcast" in modules:
        models, baselines = list(config["nowcast"]["models"]), list(config["nowcast"]["baselines"])
        # No nowcast_fetch: its jobs (one per data file) are known only once the nowcast_catalog checkpoint ran.
        jobs += [(rule, {}) for rule in ("nowcast_source_catalog", "nowcast_catalog", "nowcast_split", "nowcast_table")]
        jobs += [("nowcast_cache", {"split": split}) for split in ("train", "val", "test")]
        seeds = {
            name: [str(seed) for seed in spec.get("seeds", [0])] for name, spec in config["nowcast"]["models"].items()
        }
        trained = [(model, seed) for model in models for seed in seeds[model]]
        jobs += [("nowcast_train", {"model": model, "seed": seed}) for model, seed in trained]
        jobs += [("nowcast_forecast", {"name": model, "seed": seed}) for model, seed in trained]
        jobs += [("nowcast_baseline", {"name": baseline}) for baseline in baselines]
        jobs += [("nowcast_score", {"name": name, "seed": seed}) for name, seed in trained]
        jobs += [("nowcast_score", {"name": baseline, "seed": "0"}) for baseline in baselines]
        jobs += [("comparisons", {"module": "nowcast"}), ("nowcast_loss_shares", {})]
        if config["nowcast"]["source"] == "synthetic":
            jobs += [("nowcast_oracle", {}), ("nowcast_score", {"name": "oracle", "seed": "0"})]
        choice = config["nowcast"].get("loss_choice")
        if choice:
            seed = str(choice.get("seed", 100))
            labels = [f"{choice.get('key', 'physics_weight')}_{value:g}" for value in choice["values"]]
            jobs += [("nowcast_loss_candidate", {"candidate": label, "seed": seed}) for label in labels]
            jobs.append(("nowcast_loss_choice", {}))
    if "cbh" in modules:
        flights = [flight["name"] for flight in config["cbh"]["flights"]]
        jobs += [("cbh_era5", {}), ("cbh_cache", {})]
        jobs += [(rule, {"flight": flight}) for rule in ("cbh_flights", "cbh_geometry") for flight in flights]
        folds = [str(k) for k in range(len(flights))]
        mae = config["cbh"]["mae"]
        pretrain_folds = folds if mae["pretraining"] == "strict" else ["all"]
        jobs += [(rule, {}) for rule in ("cbh_folds", "cbh_gbdt_pooled", "cbh_results")]
        jobs.append(("comparisons", {"module": "cbh"}))
        fold_rules = ["cbh_baselines", "cbh_ridge", "cbh_gbdt"]
        # the synthetic generator's noiseless cloud base is the oracle row; campaign files have none
        oracles = ["oracle"] if config["cbh"]["source"] == "synthetic" else []
        if oracles:
            fold_rules.append("cbh_oracle")
        jobs += [(rule, {"fold": fold}) for rule in fold_rules for fold in folds]
        models = config["cbh"]["models"]
        seeds = {name: [str(seed) for seed in spec.get("seeds", [0])] for name, spec in models.items()}
        # a seed pretrains its own encoder: each encoder once per (fold, seed of a model freezing it)
        encoder_seeds = {(spec.get("encoder", "column"), seed) for name, spec in models.items() for seed in seeds[name]}
        jobs += [
            ("cbh_pretrain_mae", {"encoder": encoder, "seed": seed, "pretrain_fold": fold})
            for encoder, seed in sorted(encoder_seeds)
            for fold in pretrain_folds
        ]
        jobs += [
            ("cbh_train", {"variant": variant, "seed": seed, "fold": fold})
            for variant in models
            for seed in seeds[variant]
            for fold in folds
        ]
        baselines = ("climatology", "lcl", "geometry", "geometry_calibrated", "ridge", "gbdt")
        seeds.update({name: ["0"] for name in (*baselines, *oracles)})
        jobs += [("cbh_unit_stats", {"approach": name, "seed": seed}) for name in seeds for seed in seeds[name]]
    if "riskseg" in modules:
        riskseg_rules = ("riskseg_scene", "riskseg_tiles", "riskseg_score", "riskseg_results")
        jobs += [(rule, {}) for rule in riskseg_rules]
        jobs.append(("comparisons", {"module": "riskseg"}))
        riskseg = config["riskseg"]
        variants, full = riskseg["variants"], riskseg["comparison"]["full"]
        v2 = riskseg["comparison"].get("v2")
        mode = "tta" if riskseg["inference"]["tta"] else "plain"
        schemes = {spec["oversampling"] for spec in variants.values() if spec.get("oversampling")}
        jobs += [("riskseg_oversample", {"scheme": scheme}) for scheme in schemes]
        for variant, spec in variants.items():
            if not spec.get("weights_from"):  # a variant with weights_from predicts with another's models
                jobs += [("riskseg_train", {"variant": variant, "seed": str(seed)}) for seed in spec["seeds"]]
            jobs += [("riskseg_predict", {"variant": variant, "seed": str(s), "mode": mode}) for s in spec["seeds"]]
            jobs.append(("riskseg_decision", {"variant": variant}))
            jobs.append(("riskseg_ensemble", {"variant": variant}))
            # the CRF: every setting on the full variant, its own on V2 (the headline pair), none on ablations
            crfs = list(riskseg["crf"]) if variant == full else [spec["crf"]] if variant == v2 else []
            jobs += [("riskseg_crf", {"variant": variant, "crf": crf}) for crf in crfs]
        other = "plain" if mode == "tta" else "tta"  # the TTA row: every seed of the full variant in the other mode
        jobs += [("riskseg_predict", {"variant": full, "seed": str(s), "mode": other}) for s in variants[full]["seeds"]]
        # the pixel baselines and, on the synthetic scene, the oracle: each with its decision, scored together
        references = list(riskseg.get("baselines", {}))
        jobs += [("riskseg_baseline", {"baseline": name}) for name in references]
        if riskseg["source"] == "synthetic":
            jobs.append(("riskseg_oracle", {}))
            references.append("oracle")
        jobs += [("riskseg_reference_decision", {"reference": name}) for name in references]
        jobs.append(("riskseg_reference_score", {}))
        if config["riskseg"]["source"] == "url":
            jobs.append(("riskseg_fetch", {}))
    if "downscale" in modules:
        jobs += [("downscale_fields", {}), ("downscale_results", {}), ("comparisons", {"module": "downscale"})]
        downscale = config["downscale"]
        epochs = [str(e) for e in downscale["sampling"]["epochs"]]
        runs = []
        samples = [(e, mode) for e in epochs for mode in downscale["sampling"]["modes"]]
        samples.append((epochs[-1], "posterior_mean"))
        for variant, spec in downscale["variants"].items():
            for seed in map(str, spec.get("seeds", [0])):
                jobs.append(("downscale_train", {"variant": variant, "seed": seed}))
                jobs += [
                    ("downscale_sample", {"variant": variant, "seed": seed, "epoch": e, "mode": m}) for e, m in samples
                ]
                runs += [f"{variant}/seed{seed}/epoch{e}_{m}" for e, m in samples]
        jobs.append(("downscale_write_up", {}))
        methods = ("bicubic", "bicubic_noise", "rainfarm")
        jobs += [("downscale_baseline", {"method": method}) for method in methods]
        runs += [f"baseline/{method}" for method in methods]
        if config["downscale"]["source"] == "synthetic":
            jobs.append(("downscale_oracle", {}))
            runs.append("oracle/generator")
        jobs += [("downscale_score", {"run": run}) for run in runs]
        if config["downscale"]["source"] == "url":
            manifest = read_manifest(workflow_dir / config["downscale"]["url"]["manifest"])
            jobs += [("downscale_fetch", {"file": entry.path}) for entry in manifest]
    return jobs


def _comparable(jobs: list[Job]) -> list[tuple[str, list[tuple[str, str]]]]:
    return sorted((rule, sorted(wildcards.items())) for rule, wildcards in jobs)


@pytest.mark.parametrize("config", ["config/config.yaml", "config/test.yaml", "config/full.yaml"])
def test_dry_run_builds_dag(workflow_dir: Path, snakemake_in, config: str) -> None:
    expected = expected_jobs(load_config(workflow_dir, config), workflow_dir)
    output = snakemake_in("-n", config=config).stdout
    assert job_counts(output) == dict(Counter(rule for rule, _ in expected))
    assert _comparable(planned_jobs(output)) == _comparable(expected)


def test_the_leaderboard_config_runs_nowcast_alone_up_to_the_real_catalog_checkpoint(snakemake_in) -> None:
    """config/sevir_vil.yaml is accepted and runs only nowcast. Its real CATALOG.csv cannot be downloaded
    here, so the dry run plans the DAG up to the catalog checkpoint: the source catalog from the bucket,
    the selection, and no data file yet (nowcast_fetch's jobs come from the selected catalog)."""
    output = snakemake_in("-n", config="config/sevir_vil.yaml").stdout
    jobs = planned_jobs(output)
    rules = {rule for rule, _ in jobs}
    assert {"nowcast_source_catalog", "nowcast_catalog", "nowcast_split"} <= rules and "nowcast_fetch" not in rules
    assert "output: resources/nowcast/sevir/CATALOG.csv" in output
    assert "The run involves checkpoint jobs" in output
    other_modules = [rule for rule in rules if rule.startswith(("cbh_", "riskseg_", "downscale_"))]
    assert not other_modules, other_modules
    assert {wildcards["module"] for rule, wildcards in jobs if rule == "comparisons"} == {"nowcast"}
    # its models with three seeds each, the two baselines, every one scored; no oracle (real data has none)
    trained = {(w["model"], w["seed"]) for rule, w in jobs if rule == "nowcast_train"}
    assert trained == {(model, seed) for model in ("sgt", "unet", "convlstm") for seed in ("0", "1", "2")}
    assert {w["name"] for rule, w in jobs if rule == "nowcast_baseline"} == {"persistence", "optical_flow"}
    scored = {(w["name"], w["seed"]) for rule, w in jobs if rule == "nowcast_score"}
    assert scored == trained | {("persistence", "0"), ("optical_flow", "0")}
    assert {w["split"] for rule, w in jobs if rule == "nowcast_cache"} == {"train", "val", "test"}


def test_lint_is_clean(snakemake_in) -> None:
    result = snakemake_in("--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_config_stops_before_any_job_with_one_line(snakemake_in) -> None:
    # one line and nothing else: no Snakemake error header, no traceback frames of the rule files
    line = only_error_line(snakemake_in("-n", "--config", "riskseg={'tile_sise': 64}", check=False))
    assert "riskseg" in line and "tile_sise" in line


#: Rules whose jobs make choices (the best epoch on validation data, a loss weight, the riskseg decision rule).
CHOOSING_RULES = (
    "nowcast_train",
    "nowcast_loss_candidate",
    "nowcast_loss_choice",
    "cbh_pretrain_mae",
    "cbh_train",
    "riskseg_train",
    "riskseg_decision",
    "riskseg_baseline",
    "riskseg_reference_decision",
    "downscale_train",
)


def test_no_job_that_makes_a_choice_receives_a_test_split_file(snakemake_in) -> None:
    """nowcast's splits are separate files: its training jobs get train.h5 and val.h5, never test.h5.
    Where one data file holds every split (cbh's cache, riskseg's tiles, downscale's fields), the
    unit tests train on a copy whose test split is garbage and get the same history and weights."""
    output = snakemake_in("-n", "--forceall").stdout
    inputs = {}
    for rule, body in JOB_BLOCK.findall(output):
        found = re.search(r"^    input: (.*)$", body, re.MULTILINE)
        if rule in CHOOSING_RULES and found:
            inputs.setdefault(rule, []).append(found.group(1).split(", "))
    assert set(inputs) == set(CHOOSING_RULES), sorted(inputs)
    assert all(
        {"results/nowcast/cache/train.h5", "results/nowcast/cache/val.h5"} <= set(i) for i in inputs["nowcast_train"]
    )
    leaks = [(rule, path) for rule, jobs in inputs.items() for job in jobs for path in job if Path(path).stem == "test"]
    assert not leaks, leaks


def test_a_riskseg_decision_reads_its_variants_seed_probabilities_the_labels_and_the_tiles_only(snakemake_in) -> None:
    """No product of the test blocks (ensemble, CRF, units, scores) reaches the fit; the code reads the
    tiles file's validation split only (tests/unit/riskseg/test_riskseg_choice.py corrupts the test blocks)."""
    output = snakemake_in("-n", "--forceall", "--config", "modules=[riskseg]").stdout
    fits = {}
    for rule, body in JOB_BLOCK.findall(output):
        if rule == "riskseg_decision":
            variant = re.search(r"^    wildcards: variant=(\w+)$", body, re.MULTILINE).group(1)
            fits[variant] = set(re.search(r"^    input: (.*)$", body, re.MULTILINE).group(1).split(", "))
    for variant, inputs in fits.items():
        probabilities = {path for path in inputs if path.startswith(f"results/riskseg/probabilities/{variant}/")}
        assert inputs - probabilities == {"results/riskseg/labels.tif", "results/riskseg/tiles/tiles.h5"}, inputs
        assert all(path.endswith("_plain.tif") for path in probabilities), probabilities
    assert {"v25", "v2", "v25_no_smote", "v25_softmax_head"} <= set(fits)
