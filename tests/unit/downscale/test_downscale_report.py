"""The downscale report: architecture names, the layout table, the scores table over seeds with the
comparisons' intervals and verdicts, the per-seed CSV, figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from atmo.downscale.comparison import compared_entries, plan, plan_settings
from atmo.downscale.figures import exceedance, extreme_case_index
from atmo.downscale.results import write_report
from atmo.downscale.sample_files import samples_writer
from atmo.downscale.scoring import ScoringSettings, day_statistics, score_samples
from atmo.downscale.variant_facts import architecture
from atmo.errors import InputError
from atmo.metrics.paired import BootstrapSettings
from atmo.publish.comparisons import Entry, compare, read_comparisons, write_comparisons

SETTINGS = ScoringSettings(crps_blocks=(1, 4), fss_windows=(1, 3), fss_thresholds_mm=(5.0, 20.0), batch_size=4)
N_CASES, K, EXTREME_CASE = 5, 4, 3
EPOCHS = (5, 10)
VARIANTS = {
    "v1": {"arch": "cvae", "params": {"n_blocks": 3, "inject_blocks": []}, "loss": {"beta_kl": 0.05, "w_max": 2.0}},
    "v2": {"arch": "cvae", "params": {"n_blocks": 3, "inject_blocks": 3}, "loss": {"beta_kl": 0.01, "w_max": 10.0}},
    "v3": {"arch": "cvae", "params": {"inject_blocks": [0]}, "loss": {}},
}
ARCHITECTURES = {"v1": "no spatial injection", "v2": "coarse field at every decoder block", "v3": "first block only"}
ACTIVE = {"v1": (3, 2), "v2": (1, 0), "v3": (7, 6)}
#: v2 has two training seeds (its table row is their mean, its CRPS mean ± sd); the others one.
SEEDS = {"v1": ["0"], "v2": ["0", "1"], "v3": ["0"]}
LATENT_DIM = 8
FIGURES = ("case_png", "distributions_png", "rapsd_png", "rank_png")


def _truth() -> np.ndarray:
    rng = np.random.default_rng(0)
    wet = rng.random((N_CASES, 16, 16)) < 0.5
    truth = np.where(wet, rng.gamma(0.6, 8.0, (N_CASES, 16, 16)), 0.0)
    truth[EXTREME_CASE, 5, 7] = 180.0  # the storm the case figure must pick
    return truth.astype(np.float32)


def _write(path: Path, truth: np.ndarray, members: np.ndarray, **attrs: Any) -> Path:
    n, k = members.shape[:2]
    deterministic = attrs.pop("deterministic", False)
    header = {"k": k, "temperature": 1.0, "deterministic": deterministic, "seed": 0, "factor": 4, "fields": "f.h5"}
    coarse = truth.reshape(n, 4, 4, 4, 4).mean(axis=(2, 4)).astype(np.float32)
    with samples_writer(
        path,
        k=k,
        fine_shape=(16, 16),
        coarse_shape=(4, 4),
        index=np.arange(10, 10 + n),
        time_s=86400 * np.arange(n),
        attrs={**header, **attrs},
    ) as writer:
        writer.write(np.clip(members, 0.0, None).astype(np.float32), truth, coarse)
    return path


def _members(truth: np.ndarray, scale: float, noise: float, k: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return scale * truth[:, None] + rng.gamma(0.5, noise, (len(truth), k, 16, 16))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Score JSONs, ensemble files, metrics and histories of 3 variants x seeds x 2 epochs x 3 modes and the
    baselines, and the comparisons of the shared layer on their per-day statistics."""
    root = tmp_path_factory.mktemp("report")
    truth = _truth()
    samples: dict[str, dict[str, Path]] = {}
    draw = 0
    for v_index, variant in enumerate(VARIANTS):
        for s_index, seed in enumerate(SEEDS[variant]):
            for epoch in EPOCHS:
                skill = 0.5 + 0.1 * v_index + 0.02 * epoch - 0.15 * s_index  # later epochs, later variants closer
                modes = {
                    "prior": (_members(truth, skill, 2.0, K, draw), False),
                    "posterior": (_members(truth, 0.95, 0.3, K, draw + 1), False),
                    "posterior_mean": (0.95 * truth[:, None], True),
                }
                for mode, (members, deterministic) in modes.items():
                    name = f"{variant}/epoch{epoch}_{mode}"
                    attrs = {"method": "cvae", "variant": variant, "epoch": epoch, "mode": mode}
                    path = root / f"{variant}_s{seed}_{epoch}_{mode}.h5"
                    samples.setdefault(name, {})[seed] = _write(
                        path, truth, members, deterministic=deterministic, **attrs
                    )
                    draw += 2
    smooth = np.repeat(np.repeat(truth.reshape(N_CASES, 4, 4, 4, 4).mean(axis=(2, 4)), 4, 1), 4, 2)
    baselines = {
        "bicubic": (smooth[:, None], True),
        "bicubic_noise": (_members(smooth, 1.0, 3.0, K, 99), False),
        "rainfarm": (_members(smooth, 0.9, 2.5, K, 98), False),
    }
    for method, (members, deterministic) in baselines.items():
        name = f"baseline/{method}"
        attrs = {"method": method, "variant": method, "epoch": -1, "mode": method, "deterministic": deterministic}
        samples[name] = {"0": _write(root / f"{method}.h5", truth, members, **attrs)}
    oracle = {"method": "oracle", "variant": "oracle", "epoch": -1, "mode": "oracle", "deterministic": False}
    samples["oracle/generator"] = {"0": _write(root / "oracle.h5", truth, _members(truth, 1.0, 0.2, K, 97), **oracle)}
    scores: dict[str, dict[str, Path]] = {}
    for name, by_seed in samples.items():
        for seed, path in by_seed.items():
            scores.setdefault(name, {})[seed] = root / (path.stem + ".json")
            scores[name][seed].write_text(json.dumps(score_samples(path, SETTINGS)))
    metrics, history = {}, {}
    for variant, (kl, burda) in ACTIVE.items():
        for s_index, seed in enumerate(SEEDS[variant]):
            run = {
                "exported_epoch": 10 - s_index,
                "latent_active_units_kl": kl + s_index,
                "latent_active_units_burda": burda,
            }
            metrics.setdefault(variant, {})[seed] = root / f"{variant}_s{seed}_metrics.json"
            metrics[variant][seed].write_text(json.dumps({**run, "latent_kl_per_dim": [0.0] * LATENT_DIM}))
            history.setdefault(variant, {})[seed] = root / f"{variant}_s{seed}_history.csv"
            epochs = np.arange(1, 11)
            frame = {"epoch": epochs, "val_kl": 30.0 + epochs + s_index, "val_active_units": kl + 0.5}
            pd.DataFrame(frame).to_csv(history[variant][seed], index=False)
    sampling = {"epochs": list(EPOCHS), "modes": ["prior", "posterior"]}
    settings = plan_settings({"source": "synthetic", "variants": VARIANTS, "sampling": sampling, "comparison": {}})
    kinds = compared_entries(settings)
    entries = [
        Entry(name, kind, {seed: day_statistics(path, SETTINGS) for seed, path in samples[name].items()})
        for name, kind in kinds.items()
    ]
    record = compare(entries, plan(settings, BootstrapSettings(n_boot=200, block_length=2)))
    comparisons = root / "comparisons.json"
    write_comparisons(record, comparisons, root / "comparisons.md")
    outputs = {
        key: root / "out" / name
        for key, name in {
            "layout_table_md": "write_up_table.md",
            "scores_md": "scores.md",
            "scores_csv": "scores.csv",
            "case_png": "case.png",
            "distributions_png": "distributions.png",
            "rapsd_png": "rapsd.png",
            "rank_png": "rank.png",
        }.items()
    }
    return {
        "scores": scores,
        "samples": samples,
        "metrics": metrics,
        "history": history,
        "comparisons": comparisons,
        "outputs": outputs,
    }


@pytest.fixture(scope="module")
def report(inputs: dict[str, Any]) -> dict[str, Path]:
    write_report(
        scores=inputs["scores"],
        samples=inputs["samples"],
        variants=VARIANTS,
        metrics=inputs["metrics"],
        history=inputs["history"],
        comparisons=inputs["comparisons"],
        **inputs["outputs"],
    )
    return inputs["outputs"]


def _per_seed(inputs: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        name: {seed: json.loads(Path(path).read_text()) for seed, path in by_seed.items()}
        for name, by_seed in inputs["scores"].items()
    }


def _loaded(inputs: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each product's scores averaged over its seeds (numbers only; other keys from the first seed)."""
    means = {}
    for name, by_seed in _per_seed(inputs).items():
        first = next(iter(by_seed.values()))
        means[name] = {
            key: float(np.mean([s[key] for s in by_seed.values()])) if isinstance(value, float) else value
            for key, value in first.items()
        }
    return means


def _table(markdown: str) -> list[dict[str, str]]:
    """The first markdown table of ``markdown`` as one dict per row (header -> cell)."""
    lines = []
    for line in markdown.splitlines():
        if not line.startswith("|"):
            if lines:
                break
            continue
        lines.append([cell.strip() for cell in line.strip("|").split("|")])
    header, body = lines[0], lines[2:]
    return [dict(zip(header, cells, strict=True)) for cells in body]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"n_blocks": 3, "inject_blocks": []}, "no spatial injection"),
        ({"n_blocks": 3, "inject_blocks": 0}, "no spatial injection"),
        ({"n_blocks": 3, "inject_blocks": 3}, "coarse field at every decoder block"),
        ({"n_blocks": 3, "inject_blocks": [2, 0, 1]}, "coarse field at every decoder block"),
        ({"n_blocks": 3, "inject_blocks": [0]}, "first block only"),
        ({"n_blocks": 3, "inject_blocks": 1}, "first block only"),
        ({}, "first block only"),  # ConditionalVAE's defaults: 3 blocks, (0,)
        ({"n_blocks": 3, "inject_blocks": [0, 1]}, "first two blocks"),
        ({"n_blocks": 4, "inject_blocks": 3}, "first three blocks"),
        ({"n_blocks": 3, "inject_blocks": [1, 2]}, "coarse field at decoder blocks 1, 2 (of 0..2)"),
    ],
)
def test_architecture_names_follow_inject_blocks(params: dict, name: str) -> None:
    assert architecture(params) == name


def test_architecture_refuses_what_the_model_refuses() -> None:
    with pytest.raises(ValueError, match="inject_blocks"):
        architecture({"n_blocks": 2, "inject_blocks": [2]})


def test_layout_table_has_one_row_per_variant_epoch_and_mode(inputs: dict, report: dict[str, Path]) -> None:
    scores = _loaded(inputs)
    rows = _table(report["layout_table_md"].read_text())
    model_rows = [row for row in rows if row["product"] != "real"]
    expected = {f"{v}/epoch{e}_{m}" for v in VARIANTS for e in EPOCHS for m in ("prior", "posterior")}
    assert [row["product"] for row in model_rows if row["mode"] == "prior"] == [
        f"{v}/epoch{e}_prior" for v in VARIANTS for e in EPOCHS
    ], "prior rows first, variants in config order, epochs ascending"
    assert {row["product"] for row in model_rows} == expected and len(model_rows) == len(expected)
    for row in model_rows:
        values, variant = scores[row["product"]], row["version"]
        assert row["kind"] == ("model" if row["mode"] == "prior" else "reference")
        assert row["architecture"] == ARCHITECTURES[variant]
        assert row["epoch"] == str(values["epoch"]) and row["product"].startswith(f"{variant}/epoch{row['epoch']}_")
        assert row["max (mm)"] == f"{values['samples_max_mm']:.1f}"
        assert row["mean (mm)"] == f"{values['samples_mean_mm']:.2f}"
        assert row["P95 (mm)"] == f"{values['samples_p95_mm']:.1f}"
        assert row["diversity (mm)"] == f"{values['diversity_mm']:.4f}"
        assert row["diversity (relative)"] == f"{values['diversity_relative']:.4f}"
        extra = np.mean(range(len(SEEDS[variant])))  # seed s adds s active units and s nats of KL
        assert row["active units (KL)"] == f"{ACTIVE[variant][0] + extra:g}/{LATENT_DIM}"
        assert row["active units (Burda)"] == f"{ACTIVE[variant][1]}/{LATENT_DIM}"
        assert row["val KL (nats)"] == f"{30.0 + values['epoch'] + extra:.2f}"
    loss = {row["version"]: (row["beta-KL"], row["w_max"]) for row in model_rows}
    assert loss == {"v1": ("0.05", "2"), "v2": ("0.01", "10"), "v3": ("0.01", "10")}, "v3 takes the loss defaults"
    (real,) = [row for row in rows if row["product"] == "real"]
    truth = scores["baseline/bicubic"]
    assert real["max (mm)"] == f"{truth['truth_max_mm']:.1f}" == "180.0"
    assert real["mean (mm)"] == f"{truth['truth_mean_mm']:.2f}" and real["P95 (mm)"] == f"{truth['truth_p95_mm']:.1f}"


def test_layout_table_defines_diversity(report: dict[str, Path]) -> None:
    text = report["layout_table_md"].read_text()
    assert "across-sample standard deviation" in text and "ddof = 1" in text
    assert "sum of the ensemble mean" in text and f"K = {K}" in text and f"N = {N_CASES}" in text


def test_the_layout_table_averages_over_seeds(inputs: dict, report: dict[str, Path]) -> None:
    rows = {row["product"]: row for row in _table(report["layout_table_md"].read_text())}
    per_seed = _per_seed(inputs)["v2/epoch10_prior"]
    assert len(per_seed) == 2 and per_seed["0"]["samples_max_mm"] != per_seed["1"]["samples_max_mm"]
    mean = (per_seed["0"]["samples_max_mm"] + per_seed["1"]["samples_max_mm"]) / 2
    assert rows["v2/epoch10_prior"]["max (mm)"] == f"{mean:.1f}"
    assert rows["v2/epoch10_prior"]["active units (KL)"] == f"1.5/{LATENT_DIM}"
    assert "v2: epoch 10, 9" in report["layout_table_md"].read_text(), "each seed's exported epoch"


def test_scores_table_shows_crps_mean_sd_over_seeds_and_the_comparisons(inputs: dict, report: dict[str, Path]) -> None:
    per_seed = _per_seed(inputs)
    record = read_comparisons(inputs["comparisons"])
    text = report["scores_md"].read_text()
    rows = {row["product"]: row for row in _table(text)}
    assert set(rows) == set(per_seed)
    v2 = [s["crps_mm"] for s in per_seed["v2/epoch10_prior"].values()]
    assert rows["v2/epoch10_prior"]["CRPS (mm)"] == f"{np.mean(v2):.3f} ± {np.std(v2, ddof=1):.3f}"
    assert rows["v2/epoch10_prior"]["seeds"] == "2" and rows["v1/epoch10_prior"]["seeds"] == "1"
    v1 = per_seed["v1/epoch10_prior"]["0"]["crps_mm"]
    assert rows["v1/epoch10_prior"]["CRPS (mm)"] == f"{v1:.3f}", "one seed: no sd"
    for result in record["comparisons"]:
        if result["role"] != "vs best baseline":
            continue
        row = rows[result["a"]]
        interval = f"{result['estimate']:+.3f} [{result['low']:+.3f}, {result['high']:+.3f}] vs {result['b']}"
        assert row["CRPS (mm) Δ [95 % interval]"] == interval and row["verdict"] == result["verdict"]
    assert rows["v1/epoch5_prior"]["verdict"] == "n/a", "only the configured epoch is compared"
    assert rows["v2/epoch10_posterior"]["verdict"] == "n/a", "the posterior is compared with its prior only"
    headline = record["headline"]
    assert headline["a"] == "v1/epoch10_prior", "headline null: the first variant, at the last epoch, prior"
    line = next(line for line in text.splitlines() if line.startswith("`v1/epoch10_prior`"))
    assert f"`v1/epoch10_prior` {headline['verdict']} `{headline['b']}`" in line and "test days" in line
    assert "Best CRPS" not in text, "no product is picked as best on the test days"
    assert rows["baseline/bicubic"]["spread/skill"] == "n/a", "a deterministic product has no spread"
    assert {"CRPS 4x4 (mm)", "FSS p99 w1", "FSS p99 w3", "FSS 20mm w3", "tail MAE >p99 (mm)"} <= set(
        rows["v2/epoch10_prior"]
    )
    assert [row["kind"] for row in rows.values()] == sorted(
        (row["kind"] for row in rows.values()), key=("model", "reference", "baseline", "oracle").index
    )
    assert list(rows)[-1] == "oracle/generator" and rows["oracle/generator"]["verdict"] == "n/a", "shown, not compared"
    assert rows["baseline/rainfarm"]["kind"] == "baseline" and rows["baseline/rainfarm"]["verdict"] == "n/a"


def test_scores_csv_has_one_row_per_product_and_seed(inputs: dict, report: dict[str, Path]) -> None:
    frame = pd.read_csv(report["scores_csv"], dtype={"seed": str})
    per_seed = _per_seed(inputs)
    assert sorted(zip(frame["product"], frame["seed"], strict=True)) == sorted(
        (name, seed) for name, by_seed in per_seed.items() for seed in by_seed
    )
    indexed = frame.set_index(["product", "seed"])
    assert indexed.loc[("v1/epoch5_posterior", "0"), "kind"] == "reference"
    assert indexed.loc[("baseline/bicubic", "0"), "kind"] == "baseline"
    assert {"fss_prob_5mm_w1", "fss_20mm_w3", "crps_b4_mm", "ratio_p99"} <= set(frame.columns)
    for seed in ("0", "1"):
        expected = per_seed["v2/epoch10_prior"][seed]["crps_b4_mm"]
        assert indexed.loc[("v2/epoch10_prior", seed), "crps_b4_mm"] == pytest.approx(expected)


def test_all_four_figures_are_written(report: dict[str, Path]) -> None:
    for key in FIGURES:
        data = report[key].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000, key


def test_the_extreme_case_is_the_largest_truth_maximum() -> None:
    assert extreme_case_index(_truth()) == EXTREME_CASE


def test_exceedance_starts_at_the_wet_fraction() -> None:
    probability = exceedance(np.array([3, 0, 1]), total=8)
    np.testing.assert_allclose(probability, [0.5, 0.125, 0.125])
    assert np.isnan(exceedance(np.array([1, 0]), total=2)[1])


def test_a_score_file_under_the_wrong_name_writes_nothing(inputs: dict, tmp_path: Path) -> None:
    outputs = {key: tmp_path / Path(path).name for key, path in inputs["outputs"].items()}
    swapped = {**inputs["scores"], "v1/epoch5_prior": inputs["scores"]["v1/epoch5_posterior"]}
    with pytest.raises(InputError, match="passed as product 'v1/epoch5_prior'"):
        write_report(scores=swapped, samples=inputs["samples"], variants=VARIANTS, metrics=inputs["metrics"], **outputs)
    assert not any(path.exists() for path in outputs.values())


def test_ensembles_of_different_k_are_refused(inputs: dict, tmp_path: Path) -> None:
    """Every ensemble of a comparison has the same K (downscale.sampling.k): a file with another K is refused."""
    outputs = {key: tmp_path / Path(path).name for key, path in inputs["outputs"].items()}
    scores = json.loads(Path(inputs["scores"]["baseline/rainfarm"]["0"]).read_text())
    odd = tmp_path / "rainfarm_k3.json"
    odd.write_text(json.dumps({**scores, "k": 3}))
    with pytest.raises(InputError, match="every ensemble needs the same K"):
        write_report(
            scores={**inputs["scores"], "baseline/rainfarm": {"0": odd}},
            samples=inputs["samples"],
            variants=VARIANTS,
            metrics=inputs["metrics"],
            **outputs,
        )
    assert not any(path.exists() for path in outputs.values())


def test_a_run_stopped_before_the_named_epoch_may_hold_an_earlier_one_never_a_later(
    inputs: dict, tmp_path: Path
) -> None:
    """Early stopping ended the run before epoch 10, so its epoch-10 sampling job read its last epoch (here 5)."""
    outputs = {key: tmp_path / Path(path).name for key, path in inputs["outputs"].items()}
    earlier = {**inputs["scores"], "v1/epoch10_prior": inputs["scores"]["v1/epoch5_prior"]}
    write_report(scores=earlier, samples=inputs["samples"], variants=VARIANTS, metrics=inputs["metrics"], **outputs)
    later = {**inputs["scores"], "v1/epoch5_prior": inputs["scores"]["v1/epoch10_prior"]}
    with pytest.raises(InputError, match=r"holds \{'epoch': 10\}, but is passed as product 'v1/epoch5_prior'"):
        write_report(scores=later, samples=inputs["samples"], variants=VARIANTS, metrics=inputs["metrics"], **outputs)


@pytest.mark.parametrize(
    ("swap", "error"),
    [
        (None, "the figures need the ensemble files of .*v2/epoch10_prior"),
        ("v2/epoch10_posterior", "passed as the samples of 'v2/epoch10_prior'"),  # found while building figures
    ],
)
def test_bad_samples_for_a_figure_write_nothing(inputs: dict, tmp_path: Path, swap: str | None, error: str) -> None:
    outputs = {key: tmp_path / Path(path).name for key, path in inputs["outputs"].items()}
    samples = {k: v for k, v in inputs["samples"].items() if k != "v2/epoch10_prior"}
    if swap is not None:
        samples["v2/epoch10_prior"] = inputs["samples"][swap]
    with pytest.raises(ValueError, match=error):
        write_report(scores=inputs["scores"], samples=samples, variants=VARIANTS, metrics=inputs["metrics"], **outputs)
    assert not any(path.exists() for path in outputs.values()), "every figure is built before the first write"
