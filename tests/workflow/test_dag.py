"""Every shipped config builds the DAG its settings call for, and the workflow passes Snakemake's linter."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from workflow_helpers import REPORT_TABLES, job_counts, load_config, only_error_line, planned_jobs

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
        # No sevir_fetch: its jobs (one per data file) are known only once the sevir_catalog checkpoint ran.
        jobs += [(rule, {}) for rule in ("sevir_source_catalog", "sevir_catalog", "sevir_split", "nowcast_table")]
        jobs += [("sevir_cache", {"split": split}) for split in ("train", "val", "test")]
        jobs += [("nowcast_train", {"model": model}) for model in models]
        jobs += [("nowcast_forecast", {"name": model}) for model in models]
        jobs += [("nowcast_baseline", {"name": baseline}) for baseline in baselines]
        jobs += [("nowcast_score", {"name": name}) for name in models + baselines]
    if "cbh" in modules:
        flights = [flight["name"] for flight in config["cbh"]["flights"]]
        jobs += [("cbh_era5", {}), ("cbh_cache", {})]
        jobs += [(rule, {"flight": flight}) for rule in ("cbh_flights", "cbh_geometry") for flight in flights]
        folds = [str(k) for k in range(len(flights))]
        mae = config["cbh"]["mae"]
        pretrain_folds = folds if mae["pretraining"] == "strict" else ["all"]
        jobs += [(rule, {}) for rule in ("cbh_folds", "cbh_gbdt_pooled", "cbh_report")]
        jobs += [(rule, {"fold": fold}) for rule in ("cbh_baselines", "cbh_gbdt") for fold in folds]
        jobs += [
            ("cbh_pretrain_mae", {"encoder": encoder, "pretrain_fold": fold})
            for encoder in mae["encoders"]
            for fold in pretrain_folds
        ]
        jobs += [
            ("cbh_train", {"variant": variant, "fold": fold}) for variant in config["cbh"]["models"] for fold in folds
        ]
    if "riskseg" in modules:
        jobs += [(rule, {}) for rule in ("riskseg_scene", "riskseg_tiles", "riskseg_score", "riskseg_report")]
        riskseg = config["riskseg"]
        variants, full = riskseg["variants"], riskseg["comparison"]["full"]
        mode = "tta" if riskseg["inference"]["tta"] else "plain"
        schemes = {spec["oversampling"] for spec in variants.values() if spec.get("oversampling")}
        jobs += [("riskseg_oversample", {"scheme": scheme}) for scheme in schemes]
        for variant, spec in variants.items():
            jobs += [("riskseg_train", {"variant": variant, "seed": str(seed)}) for seed in spec["seeds"]]
            jobs += [("riskseg_predict", {"variant": variant, "seed": str(s), "mode": mode}) for s in spec["seeds"]]
            jobs.append(("riskseg_ensemble", {"variant": variant}))
            crfs = list(riskseg["crf"]) if variant == full else [spec["crf"]]
            jobs += [("riskseg_crf", {"variant": variant, "crf": crf}) for crf in crfs]
        other = "plain" if mode == "tta" else "tta"
        jobs.append(("riskseg_predict", {"variant": full, "seed": str(variants[full]["seeds"][0]), "mode": other}))
        if config["riskseg"]["source"] == "url":
            jobs.append(("riskseg_fetch", {}))
    if "downscale" in modules:
        jobs += [("downscale_fields", {}), ("downscale_report", {})]
        downscale = config["downscale"]
        epochs = [str(e) for e in downscale["sampling"]["epochs"]]
        runs = []
        for variant in downscale["variants"]:
            jobs.append(("downscale_train", {"variant": variant}))
            samples = [(e, mode) for e in epochs for mode in downscale["sampling"]["modes"]]
            samples.append((epochs[-1], "posterior_mean"))
            jobs += [("downscale_sample", {"variant": variant, "epoch": e, "mode": m}) for e, m in samples]
            runs += [f"{variant}/epoch{e}_{m}" for e, m in samples]
        jobs += [("downscale_baseline", {"method": method}) for method in ("bicubic", "bicubic_noise")]
        runs += ["baseline/bicubic", "baseline/bicubic_noise"]
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


def test_lint_is_clean(snakemake_in) -> None:
    result = snakemake_in("--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_config_stops_before_any_job_with_one_line(snakemake_in) -> None:
    # one line and nothing else: no Snakemake error header, no traceback frames of the rule files
    line = only_error_line(snakemake_in("-n", "--config", "riskseg={'tile_sise': 64}", check=False))
    assert "riskseg" in line and "tile_sise" in line
