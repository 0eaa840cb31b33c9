"""The riskseg report: scores table, success report against targets, the measured ablation table, figures.

Everything is read from the score job's ``scores.json`` (test blocks only) and the oversampling
summaries, so the report reruns in seconds and recomputes nothing.

* ``scores.md``: every product (seed, ensemble, CRF) with kappa (unweighted and quadratic),
  medium-class precision and recall, high-class recall, IoU and Spearman rho.
* ``success_report.md``: the final product (the full variant's ensemble after its CRF) against
  the configured targets (the seed's: kappa >= 0.48, class-1 precision >= 22 %, class-2 recall
  >= 93 %, rho >= 0.58), met or not; against a baseline metrics JSON when one is given; and what
  oversampling did (tiles duplicated and synthesised, class shares before and after).
* ``ablation.md``: the seed's projected V2.5 table, row for row, with the deltas this run measured
  next to the projected ones. Single-seed rows carry seed noise: the spread between the full
  variant's seeds is printed beneath as its scale.

The seed does not say which kappa it reports; the ablation table uses the unweighted one and
``scores.md`` gives both.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from atmo.errors import InputError
from atmo.io.atomic import write_text
from atmo.io.metrics_json import read_json_object
from atmo.report import Column, Row, markdown_table, save_figure
from atmo.riskseg.dataset import band_names_of
from atmo.riskseg.evaluate import test_windows
from atmo.riskseg.figures import confusion_figure, test_block_figure

KINDS = ("final", "ensemble", "crf", "seed")
COLUMNS = [
    Column("kappa", "kappa_unweighted", 3),
    Column("kappa (quadratic)", "kappa_quadratic", 3),
    Column("class-1 precision", "precision_medium", 3),
    Column("class-1 recall", "recall_medium", 3),
    Column("class-2 recall", "recall_high", 3),
    Column("macro IoU", "macro_iou", 3),
    Column("Spearman rho", "spearman_rho", 3),
]
# score key of each target, the seed's name for it, and the seed's name in a baseline metrics JSON
TARGETS = {
    "kappa_unweighted": "Cohen's kappa (unweighted)",
    "precision_medium": "class-1 (medium) precision",
    "recall_high": "class-2 (high) recall",
    "spearman_rho": "ordinal Spearman rho",
}
# The seed's projected V2.5 deltas: class-1 precision (points), kappa, class-2 recall (points).
PROJECTED = {
    "attention": (1.5, 0.01, 0.3),
    "encoder": (2.0, 0.02, 0.5),
    "smote": (3.5, 0.025, -0.2),
    "enhanced_crf": (1.5, 0.01, 0.1),
    "total": (8.5, 0.065, 0.7),
}


@dataclass(frozen=True)
class Comparison:
    """One row of the ablation table: ``after`` compared with ``before`` (product names)."""

    label: str
    before: str
    after: str
    projected: tuple[float, float, float] | None


def read_scores(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The score job's JSON: product name -> scores."""
    scores = read_json_object(path, "riskseg scores JSON")
    if not all(isinstance(v, dict) for v in scores.values()):
        raise InputError(path, "expected an object of product name -> scores")
    return scores


def final_product(context: Mapping[str, Any]) -> str:
    """The full variant's ensemble after its own CRF: the run's headline result."""
    full = context["comparison"]["full"]
    return f"{full}/crf_{context['crf'][full]}"


def comparisons(context: Mapping[str, Any], scores: Mapping[str, Any]) -> list[Comparison]:
    """The rows of the seed's projected table, as pairs of products of this run (absent ones skipped)."""
    comparison, mode, other = context["comparison"], context["mode"], context["other_mode"]
    full = comparison["full"]
    full_seeds = context["seeds"][full]
    rows = [Comparison("single seed -> ensemble", f"{full}/seed{full_seeds[0]}_{mode}", f"{full}/ensemble", None)]
    crf_names = sorted({k.split("/crf_", 1)[1] for k in scores if k.startswith(f"{full}/crf_")})
    for crf in crf_names:
        rows.append(Comparison(f"no CRF -> CRF ({crf} settings)", f"{full}/ensemble", f"{full}/crf_{crf}", None))
    v2 = comparison.get("v2")
    if v2 is not None and context["crf"][v2] != context["crf"][full]:
        old, new = context["crf"][v2], context["crf"][full]
        rows.append(
            Comparison(
                f"CRF {old} -> {new} settings (enhanced CRF)",
                f"{full}/crf_{old}",
                f"{full}/crf_{new}",
                PROJECTED["enhanced_crf"],
            )
        )
    labels = {
        "smote": "without -> with SMOTE",
        "attention": "without -> with attention",
        "encoder": "ResNet-50 -> EfficientNet-B4",
        "ordinal": "without -> with CORAL ordinal loss",
    }
    for component, label in labels.items():
        ablation = comparison.get("ablations", {}).get(component)
        if ablation is None:
            continue
        seed = context["seeds"][ablation][0]
        full_seed = seed if seed in full_seeds else full_seeds[0]
        rows.append(
            Comparison(
                label, f"{ablation}/seed{seed}_{mode}", f"{full}/seed{full_seed}_{mode}", PROJECTED.get(component)
            )
        )
    argmax, median = (
        (f"{full}/ensemble_argmax", f"{full}/ensemble")
        if context["decision"] == "median"
        else (f"{full}/ensemble", f"{full}/ensemble_median")
    )
    rows.append(Comparison("argmax -> ordinal median decision (ensemble)", argmax, median, None))
    plain, tta = (mode, other) if mode == "plain" else (other, mode)
    rows.append(
        Comparison(
            "without -> with TTA", f"{full}/seed{full_seeds[0]}_{plain}", f"{full}/seed{full_seeds[0]}_{tta}", None
        )
    )
    if v2 is not None:
        rows.append(
            Comparison(
                "V2 -> V2.5 (final products, all components)",
                final_product({**context, "comparison": {"full": v2}}),
                final_product(context),
                PROJECTED["total"],
            )
        )
    return [row for row in rows if row.before in scores and row.after in scores]


def deltas(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[float, float, float]:
    """Measured change of class-1 precision (points), unweighted kappa and class-2 recall (points)."""
    return (
        100 * (_num(after["precision_medium"]) - _num(before["precision_medium"])),
        _num(after["kappa_unweighted"]) - _num(before["kappa_unweighted"]),
        100 * (_num(after["recall_high"]) - _num(before["recall_high"])),
    )


def verdict(measured: float, projected: float | None) -> str:
    """Whether a projected gain held: ``held`` (at least as large), ``smaller`` (same sign), ``no``.

    ``undefined`` when the measured precision is not defined (class 1 never predicted on one side).
    """
    if projected is None:
        return "-"
    if math.isnan(measured):
        return "undefined"
    if projected > 0:
        return "held" if measured >= projected else ("smaller" if measured > 0 else "no")
    return "held" if measured <= projected else ("smaller" if measured < 0 else "no")


def ablation_markdown(context: Mapping[str, Any], scores: Mapping[str, Any]) -> str:
    """The ablation table (measured next to projected deltas) with its notes."""
    header = (
        "| comparison | before | after | Δ class-1 precision (pts) | projected | Δ kappa | projected "
        "| Δ class-2 recall (pts) | projected | class-1 precision gain held? |"
    )
    lines = [header, "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for row in comparisons(context, scores):
        measured = deltas(scores[row.before], scores[row.after])
        projected = row.projected or (None, None, None)
        cells = [row.label, row.before, row.after]
        for value, expected, digits in zip(measured, projected, (1, 3, 1), strict=True):
            shown = "n/a" if math.isnan(value) else f"{value:+.{digits}f}"
            cells += [shown, "not projected" if expected is None else f"{expected:+.{digits}f}"]
        cells.append(verdict(measured[0], projected[0]))
        lines.append("| " + " | ".join(cells) + " |")
    full = context["comparison"]["full"]
    seeds = context["seeds"][full]
    notes = [
        "",
        "Measured on the test blocks only. Kappa is unweighted (the seed does not say which it used; "
        "scores.md also gives the quadratic one). Projected: the seed's V2.5 table, never measured there.",
    ]
    if len(seeds) > 1:
        seed_scores = [scores.get(f"{full}/seed{s}_{context['mode']}") for s in seeds]
        if all(seed_scores):
            spread = [100 * _num(s["precision_medium"]) for s in seed_scores]
            kappas = [_num(s["kappa_unweighted"]) for s in seed_scores]
            notes.append(
                f"Seed noise: the {len(seeds)} seeds of {full} span {max(spread) - min(spread):.1f} points of class-1 "
                f"precision and {max(kappas) - min(kappas):.3f} of kappa; single-seed deltas smaller than that "
                "are not distinguishable from seed noise."
            )
    return "\n".join(lines + notes) + "\n"


def product_kind(name: str, final: str) -> str:
    """The role of a product in the scores table."""
    if name == final:
        return "final"
    what = name.split("/", 1)[1]
    return "ensemble" if what.startswith("ensemble") else ("crf" if what.startswith("crf_") else "seed")


def scores_markdown(scores: Mapping[str, Any], final: str) -> str:
    """Every product's scores on the test blocks."""
    rows = [Row(name, product_kind(name, final), values) for name, values in scores.items()]
    notes = [
        "Test blocks only. class 1 = medium, class 2 = high. Probabilities become classes by each row's "
        "decision rule (riskseg.decision; `_argmax`/`_median` rows use the other one); `final` is the full "
        "variant's seed ensemble after its CRF. n/a: undefined (e.g. class-1 precision when no pixel is "
        "predicted medium)."
    ]
    return markdown_table(rows, COLUMNS, name_header="product", notes=notes, kinds=KINDS)


def success_markdown(
    scores: Mapping[str, Any],
    final: str,
    targets: Mapping[str, float],
    baseline: Mapping[str, Any] | None,
    oversampling: Mapping[str, Mapping[str, Any]],
) -> str:
    """The success report: targets met or not, the baseline comparison and the oversampling facts."""
    result = scores[final]
    lines = [f"# riskseg success report: `{final}` on the test blocks", ""]
    header = "| target | required | measured | met |"
    if baseline is not None:
        header = "| target | required | measured | met | baseline | change |"
    lines += [header, "| --- | ---: | ---: | --- |" + (" ---: | ---: |" if baseline is not None else "")]
    met = 0
    for key, label in TARGETS.items():
        required, value = float(targets[key]), _num(result[key])
        ok = value >= required
        met += ok
        shown = "n/a (never predicted)" if math.isnan(value) else f"{value:.3f}"
        cells = [label, f">= {required:.3f}", shown, "yes" if ok else "no"]
        if baseline is not None:
            base = baseline.get(key)
            cells += ["n/a", "n/a"] if base is None else [f"{float(base):.3f}", f"{value - float(base):+.3f}"]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"{met} of {len(TARGETS)} targets met."]
    for scheme, summary in oversampling.items():
        lines += ["", f"Oversampling `{scheme}` (training tiles only):", "", _oversampling_line(summary)]
    return "\n".join(lines) + "\n"


def read_baseline(path: str | os.PathLike[str] | None) -> dict[str, Any] | None:
    """A baseline metrics JSON (flat, with the score keys of :data:`TARGETS`), or ``None``."""
    if path is None:
        return None
    baseline = read_json_object(path, "baseline metrics JSON")
    if not set(TARGETS) & baseline.keys():
        raise InputError(path, f"has none of the metric keys {sorted(TARGETS)}")
    return baseline


def write_report(
    *,
    scores_path: str | os.PathLike[str],
    context: Mapping[str, Any],
    targets: Mapping[str, float],
    baseline_path: str | os.PathLike[str] | None,
    oversampling_paths: Mapping[str, str],
    scores_md: str | os.PathLike[str],
    success_md: str | os.PathLike[str],
    ablation_md: str | os.PathLike[str],
    confusion_png: str | os.PathLike[str],
    maps_png: str | os.PathLike[str],
    maps: Mapping[str, str],
) -> None:
    """Write the three markdown reports and both figures (all texts built before any write).

    ``maps`` names the rasters of the test-block figure: scene, labels, ensemble, uncertainty, crf, tiles.
    """
    scores = read_scores(scores_path)
    final = final_product(context)
    if final not in scores:
        raise InputError(scores_path, f"has no product {final!r}")
    oversampling = {name: read_json_object(path, "oversampling summary") for name, path in oversampling_paths.items()}
    texts = {
        scores_md: scores_markdown(scores, final),
        success_md: success_markdown(scores, final, targets, read_baseline(baseline_path), oversampling),
        ablation_md: ablation_markdown(context, scores),
    }
    for path, text in texts.items():
        write_text(path, text)
    save_figure(confusion_figure(np.asarray(scores[final]["confusion"]), final), confusion_png)
    rasters = {key: value for key, value in maps.items() if key != "tiles"}
    figure = test_block_figure(**rasters, windows=test_windows(maps["tiles"]), band_names=band_names_of(maps["tiles"]))
    save_figure(figure, maps_png)


def _oversampling_line(summary: Mapping[str, Any]) -> str:
    """What one oversampling scheme did (keys as :func:`atmo.riskseg.oversample.oversample_tiles` writes them)."""
    shares = summary["class_fractions"]

    def stage(name: str) -> str:
        return " / ".join(f"{100 * shares[name][str(c)]:.2f} %" for c in range(3))

    return (
        f"{summary['n_original']} original tiles ({summary['n_rich']} class-1 rich), "
        f"{summary['n_duplicated']} duplicated, {summary['n_synthetic']} synthesised (SMOTE), "
        f"{summary['n_total']} in all. Class shares low / medium / high: before {stage('before')}; "
        f"after duplication {stage('after_duplication')}; after SMOTE {stage('after_smote')}."
    )


def _num(value: Any) -> float:
    return float("nan") if value is None else float(value)
