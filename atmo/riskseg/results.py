"""The riskseg report: scores tables, success report against targets, the measured ablation table, figures.

Everything is read from the score jobs' ``scores.json`` and ``reference_scores.json`` (the pixel
baselines and the oracle; test blocks only), the comparisons' ``comparisons.json`` (paired
bootstrap over test blocks, :mod:`atmo.riskseg.comparison`), the decision record
(``decision.json``, chosen on validation) and the oversampling summaries, so the report reruns in
seconds and recomputes nothing.

* ``scores.md``: one row per entry: a variant's single-seed products as mean ± sd over its seeds,
  every product built from all seeds (ensemble, CRF) as one row, each with kappa (unweighted and
  quadratic), medium-class precision and recall, high-class recall, IoU and Spearman rho, and the
  kappa difference [95 % interval] and verdict of the compared entries; the pixel baselines as
  ``baseline`` rows and the synthetic scene's oracle last (kind ``oracle``, never compared).
  ``scores.csv`` keeps every product's row, one per seed.
* ``success_report.md``: the final product (the full variant's ensemble after its CRF) against
  the configured targets (the write-up's: kappa >= 0.48, class-1 precision >= 22 %, class-2 recall
  >= 93 %, rho >= 0.58), met or not; against a baseline metrics JSON when one is given; the
  headline comparison; each variant's decision rule, thresholds and validation score; the final
  product against each pixel baseline; what the oracle reaches (the ceiling of the synthetic scene,
  and whether the class-1 precision target lies within it); the pixels of each class before and
  after every CRF, with a finding wherever a CRF erases a class the ensemble predicted; and what
  oversampling did.
* ``ablation.md``: the write-up's projected V2.5 table, row for row, with the deltas this run measured
  next to the projected ones, and this run's further components (CORAL head, CRF compatibility,
  decision rule, TTA); where the row is one of the comparisons, the kappa difference's interval
  and the verdict word, which come from the interval only.

The write-up does not say which kappa it reports; the comparisons use the unweighted one and
``scores.md`` gives both.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from atmo.errors import InputError
from atmo.io.atomic import write_text
from atmo.io.metrics_json import read_json_object
from atmo.metrics.paired import BEATS, LOSES
from atmo.publish import Column, Row, markdown_table, save_figure
from atmo.publish.comparisons import (
    difference_text,
    interval_columns,
    mean_sd_column,
    read_comparisons,
    seed_rows,
    sentence,
)
from atmo.riskseg import CLASS_NAMES
from atmo.riskseg.dataset import band_names_of
from atmo.riskseg.decision import Decision
from atmo.riskseg.entries import ENSEMBLE_SEED, WRITE_UP_RULE, entries
from atmo.riskseg.evaluate import test_windows
from atmo.riskseg.figures import confusion_figure, test_block_figure
from atmo.riskseg.products import (
    CRF,
    SEED,
    ensemble_entry,
    final_entry,
    fixed_decision_entry,
    parse_product,
    seed_product,
    single_entry,
)

#: Row kinds of the scores table: the compared kinds, ``extra`` (scored, shown, not compared), the oracle last.
KINDS = ("model", "baseline", "ablation", "extra", "oracle")
SCORE_COLUMNS = [
    ("kappa", "kappa_unweighted"),
    ("kappa (quadratic)", "kappa_quadratic"),
    ("class-1 precision", "precision_medium"),
    ("class-1 recall", "recall_medium"),
    ("class-2 recall", "recall_high"),
    ("macro IoU", "macro_iou"),
    ("Spearman rho", "spearman_rho"),
]
NOT_COMPARED = "not compared"
# score key of each target, the write-up's name for it, and the write-up's name in a baseline metrics JSON
TARGETS = {
    "kappa_unweighted": "Cohen's kappa (unweighted)",
    "precision_medium": "class-1 (medium) precision",
    "recall_high": "class-2 (high) recall",
    "spearman_rho": "ordinal Spearman rho",
}
Projection = tuple[float | None, float | None, float | None]
# The write-up's projected deltas: class-1 precision (points), kappa, class-2 recall (points). The V2.5
# table's rows, then two the write-up states outside it, each at the midpoint of its range and read as
# that table reads "+2-3 % all metrics" (points, kappa / 100): the V3 seed ensemble's "+2-3 %
# additional improvement" of class-1 precision, and test-time augmentation's "+1-2 % all metrics".
PROJECTED: dict[str, Projection] = {
    "attention": (1.5, 0.01, 0.3),
    "encoder": (2.0, 0.02, 0.5),
    "smote": (3.5, 0.025, -0.2),
    "enhanced_crf": (1.5, 0.01, 0.1),
    "total": (8.5, 0.065, 0.7),
    "ensemble": (2.5, None, None),
    "tta": (1.5, 0.015, 1.5),
}


@dataclass(frozen=True)
class Comparison:
    """One row of the ablation table: ``after`` compared with ``before`` (product names)."""

    label: str
    before: str
    after: str
    projected: Projection | None


def read_scores(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """The score job's JSON: product name -> scores."""
    scores = read_json_object(path, "riskseg scores JSON")
    if not all(isinstance(v, dict) for v in scores.values()):
        raise InputError(path, "expected an object of product name -> scores")
    return scores


def final_product(context: Mapping[str, Any]) -> str:
    """The full variant's ensemble after its own CRF: the run's headline result."""
    full = context["full"]
    return final_entry(full, context["crf"][full])


def _singles(context: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(variant, mode)`` of every single-seed entry: each variant in the run's mode, the full one in both."""
    return [(v, context["mode"]) for v in context["seeds"]] + [(context["full"], context["other_mode"])]


def single_seed_scores(context: Mapping[str, Any], scores: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each single-seed entry as mean ± sd over its seeds (:func:`seed_rows`), by entry name."""
    rows = {}
    for variant, mode in _singles(context):
        per_seed = {str(s): scores.get(seed_product(variant, s, mode)) for s in context["seeds"][variant]}
        if all(isinstance(v, Mapping) for v in per_seed.values()):
            name = single_entry(variant, mode)
            rows[name] = dict(seed_rows(name, "extra", per_seed).scores)
    return rows


def _component_labels(context: Mapping[str, Any]) -> dict[str, str]:
    """The ablation table's label of each component's row (after the full variant's heads)."""
    heads = context["head"]
    ablations = context.get("ablations", {})
    full_head = heads[context["full"]]
    labels = {
        "smote": "without -> with SMOTE",
        "attention": "without -> with attention",
        "encoder": "ResNet-50 -> EfficientNet-B4",
        "ordinal": "without -> with CORAL ordinal loss" + (" (and its head)" if full_head == "coral" else ""),
    }
    if "head" in ablations:
        labels["head"] = f"{heads[ablations['head']]} -> {full_head} head (same weights)"
    return labels


def _crf_rows(context: Mapping[str, Any]) -> list[Comparison]:
    """The CRF rows: no CRF -> the final CRF, the ``crf_ablation`` CRF -> the final one, V2's -> ``crf_ablation``."""
    full, crf, compat = context["full"], context["crf"], context["crf_compat"]
    own = crf[full]
    against = context.get("crf_ablation") or own
    rows = [Comparison(f"no CRF -> CRF {own} ({compat[own]})", ensemble_entry(full), final_entry(full, own), None)]
    if against != own:
        label = f"CRF {against} -> {own} ({compat[against]} -> {compat[own]} compatibility)"
        rows.append(Comparison(label, final_entry(full, against), final_entry(full, own), None))
    v2 = context.get("v2")
    if v2 is not None and crf[v2] not in (against, own):
        label = f"CRF {crf[v2]} -> {against} settings (enhanced CRF)"
        before, after = final_entry(full, crf[v2]), final_entry(full, against)
        rows.append(Comparison(label, before, after, PROJECTED["enhanced_crf"]))
    return rows


def comparisons(context: Mapping[str, Any], scores: Mapping[str, Any]) -> list[Comparison]:
    """The rows of the write-up's projected table and this run's further components, as pairs of entries of this
    run (absent ones skipped).

    ``scores`` holds every product and every single-seed entry (seed means). Components are
    compared per seed: the ablation's single-seed products against the full variant's.
    """
    full, mode, other = context["full"], context["mode"], context["other_mode"]
    single, ensemble = single_entry(full, mode), ensemble_entry(full)
    ablations = context.get("ablations", {})
    rows = [Comparison("single seed -> ensemble", single, ensemble, PROJECTED["ensemble"]), *_crf_rows(context)]
    for component, label in _component_labels(context).items():
        if component in ablations:
            rows.append(Comparison(label, single_entry(ablations[component], mode), single, PROJECTED.get(component)))
    if "head" in ablations and "ordinal" in ablations:
        label = "without -> with CORAL ordinal loss (softmax head on both)"
        before, after = single_entry(ablations["ordinal"], mode), single_entry(ablations["head"], mode)
        rows.append(Comparison(label, before, after, None))
    rows.append(
        Comparison(
            f"{WRITE_UP_RULE} -> decision fitted on validation (ensemble)",
            fixed_decision_entry(full, WRITE_UP_RULE),
            ensemble,
            None,
        )
    )
    plain, tta = (mode, other) if mode == "plain" else (other, mode)
    rows.append(Comparison("without -> with TTA", single_entry(full, plain), single_entry(full, tta), PROJECTED["tta"]))
    v2 = context.get("v2")
    if v2 is not None:
        rows.append(
            Comparison(
                "V2 -> V2.5 (final products, all components)",
                final_product({**context, "full": v2}),
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


def oriented(record: Mapping[str, Any], before: str, after: str) -> dict[str, Any] | None:
    """The comparison of ``after`` with ``before`` (``after - before``), turned round when it was
    computed as ``before - after``; ``None`` when the run did not compare the pair."""
    for result in record["comparisons"]:
        if (result["a"], result["b"]) == (after, before):
            return dict(result)
        if (result["a"], result["b"]) == (before, after):
            swapped = {BEATS: LOSES, LOSES: BEATS}
            return {
                **result,
                "a": after,
                "b": before,
                "estimate": -result["estimate"],
                "low": -result["high"],
                "high": -result["low"],
                "verdict": swapped.get(result["verdict"], result["verdict"]),
            }
    return None


def ablation_markdown(context: Mapping[str, Any], scores: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    """The ablation table: measured next to projected deltas, and the interval and verdict of compared rows."""
    header = (
        "| comparison | before | after | Δ kappa [95 % interval] | projected | verdict (after vs before) "
        "| Δ class-1 precision (pts) | projected | Δ class-2 recall (pts) | projected |"
    )
    lines = [header, "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"]
    for row in comparisons(context, scores):
        precision, kappa, recall = deltas(scores[row.before], scores[row.after])
        projected = row.projected or (None, None, None)
        result = oriented(record, row.before, row.after)
        cells = [row.label, row.before, row.after]
        cells.append(_shown(kappa, 3) if result is None else difference_text(result, 3))
        cells += [_projected(projected[1], 3), NOT_COMPARED if result is None else result["verdict"]]
        cells += [_shown(precision, 1), _projected(projected[0], 1), _shown(recall, 1), _projected(projected[2], 1)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [
        "",
        "Measured on the test blocks only. Kappa is unweighted (the write-up does not say which it used; "
        "scores.md also gives the quadratic one). Projected: the write-up's V2.5 table, never measured there; the "
        "ensemble's and TTA's projections are the midpoints of ranges the write-up states outside that table (the V3 "
        'ensemble\'s "+2-3 % additional improvement" of class-1 precision, TTA\'s "+1-2 % all metrics"). '
        f"`{single_entry('<variant>', context['mode'])}`: the variant's single-seed products, their scores "
        "averaged over its seeds; components are compared seed by seed on these, the same kind of product on "
        "both sides.",
        f"Verdicts come from the 95 % paired bootstrap interval of the kappa difference ({record['scheme']}): "
        '"beats" / "loses" when it excludes 0 for / against `after`, otherwise "does not separate". '
        f"Rows marked {NOT_COMPARED!r} are descriptive point differences of one product each, with no interval "
        "and no verdict; every decision rule was fitted on the validation blocks (decision/<variant>.json).",
    ]
    return "\n".join(lines + notes) + "\n"


def score_rows(context: Mapping[str, Any], scores: Mapping[str, Any]) -> list[Row]:
    """The scores table's rows: single-seed entries (mean ± sd), then every product built from all seeds."""
    kinds = {name: entry["kind"] for name, entry in entries(context).items()}
    singles = single_seed_scores(context, scores)
    seed_products = {seed_product(v, s, mode) for v, mode in _singles(context) for s in context["seeds"][v]}
    references = context.get("references", {})
    rows = []
    for name, merged in singles.items():
        seeds = ", ".join(str(s) for s in context["seeds"][parse_product(name).variant])
        rows.append(Row(name, kinds.get(name, "extra"), {**merged, "seeds": f"{seeds} (mean ± sd)"}))
    for name, values in scores.items():
        if name in references:
            rows.append(Row(name, references[name], {**values, "seeds": "one fit"}))
            continue
        if name in seed_products:
            continue
        product = parse_product(name)
        members = ", ".join(str(s) for s in context["seeds"][product.variant])
        seeds = product.seed if product.stage == SEED else f"{members} (ensemble)"
        rows.append(Row(name, kinds.get(name, "extra"), {**values, "seeds": seeds}))
    return rows


def scores_markdown(context: Mapping[str, Any], scores: Mapping[str, Any], record: Mapping[str, Any]) -> str:
    """Every entry's scores on the test blocks, mean ± sd over seeds, with the comparisons' intervals and verdicts."""
    columns = [mean_sd_column(header, key, 3) for header, key in SCORE_COLUMNS]
    columns += [Column("seeds", "seeds"), *interval_columns(record)]
    notes = [
        "Test blocks only. class 1 = medium, class 2 = high. Probabilities become classes by their variant's "
        "decision rule, fitted on the validation blocks (decision/<variant>.json); `_argmax`/`_median` rows use "
        f"that rule whatever the fit. `{single_entry('<variant>', context['mode'])}`: the variant's single-seed "
        "products, mean ± sd "
        "(ddof 1) over the seeds listed, each seed's row in scores.csv; `(ensemble)`: one product whose members "
        "are the seeds listed (the mean of their probabilities). n/a: undefined (e.g. class-1 precision when no "
        "pixel is predicted medium); kappa is the compared metric.",
        f"Interval and verdict: {record['label']} difference against the best baseline (models) or the full "
        f"variant (ablations), {record['scheme']}; `extra` rows are shown, not compared. Pixel baselines "
        "(riskseg.baselines) are fitted on the training tiles, tuned and given their decision rule on the "
        "validation tiles; `oracle`: the synthetic scene's Bayes-optimal probabilities given its covariates "
        "(atmo/riskseg/synthetic/latent_risk.py) under its own validation-chosen rule, what the data allow; "
        "never compared.",
    ]
    return markdown_table(score_rows(context, scores), columns, name_header="entry", notes=notes, kinds=KINDS)


def scores_frame(context: Mapping[str, Any], scores: Mapping[str, Any]) -> pd.DataFrame:
    """Every product's scores, one row per product (so one per seed for single-seed products)."""
    kinds = {name: entry["kind"] for name, entry in entries(context).items()}
    by_product = {
        product: (name, seed) for name, entry in entries(context).items() for seed, product in entry["products"].items()
    }
    for variant, seeds in context["seeds"].items():
        for seed in seeds:
            by_product.setdefault(
                seed_product(variant, seed, context["mode"]), (single_entry(variant, context["mode"]), str(seed))
            )
    records = []
    for product, values in scores.items():
        entry, seed = by_product.get(product, (product, None))
        if seed is None:
            parsed = parse_product(product)
            seed = parsed.seed if parsed.stage == SEED else ENSEMBLE_SEED
        scalars = {k: v for k, v in values.items() if not isinstance(v, list | dict)}
        records.append({"product": product, "entry": entry, "seed": seed, "kind": kinds.get(entry, "extra"), **scalars})
    return pd.DataFrame(records)


def success_markdown(
    scores: Mapping[str, Any],
    final: str,
    targets: Mapping[str, float],
    baseline: Mapping[str, Any] | None,
    oversampling: Mapping[str, Mapping[str, Any]],
    record: Mapping[str, Any] | None = None,
    decisions: Mapping[str, Mapping[str, Any]] | None = None,
    crf_lines: list[str] | None = None,
    references: Mapping[str, str] | None = None,
) -> str:
    """The success report: targets met or not, the baseline comparison, the headline, each variant's decision
    rule (``decisions``: variant -> decision record, the full variant first), the final product against each
    pixel baseline (``references``: name -> kind), the oracle's ceiling, the CRF class counts, oversampling."""
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
    lines += ["", f"{met} of {len(TARGETS)} targets met (point values of one product on the test blocks)."]
    if record is not None and record.get("headline") is not None:
        lines += ["", "Headline: " + sentence(record["headline"], record["label"], record["units"], 3)]
    if decisions:
        lines += ["", *decision_lines(decisions)]
    lines += reference_lines(scores, final, targets, references or {}, record)
    if crf_lines:
        lines += ["", *crf_lines]
    for scheme, summary in oversampling.items():
        lines += ["", f"Oversampling `{scheme}` (training tiles only):", "", _oversampling_line(summary)]
    return "\n".join(lines) + "\n"


def _rule_text(record: Mapping[str, Any]) -> str:
    """The rule of a decision record in words (:meth:`Decision.describe`)."""
    thresholds = record["thresholds"]
    return Decision(record["decision"], None if thresholds is None else tuple(thresholds)).describe()


def decision_lines(decisions: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The first variant's decision in a sentence, then every variant's fitted rule and validation scores as a table.

    A fit whose class-2 recall floor no candidate reached says so: it took the highest class-2 recall.
    """
    variant, first = next(iter(decisions.items()))
    floor = first["min_class2_recall"]
    constraint = "no floor on class-2 recall" if floor is None else f"class-2 recall >= {floor:.2f}"
    how = (
        "set in the config" if first["chosen_by"] == "config" else f"fitted on validation, setting `{first['setting']}`"
    )
    sentence_ = (
        f"Decision rule of `{variant}`: `{_rule_text(first)}` ({how}; criterion {first['criterion']} subject to "
        f"{constraint}, scored on {first['n_blocks']} validation blocks, {first['n_pixels']} pixels)."
    )
    header = f"| variant | rule | validation {first['criterion']} | class-2 recall | class-1 precision | floor met |"
    lines = [sentence_, "", header, "| --- | --- | ---: | ---: | ---: | --- |"]
    unmet = []
    for name, record in decisions.items():
        scores = record["validation"]
        met = "yes" if record["constraint_met"] else "no"
        lines.append(
            f"| {name} | {_rule_text(record)} | {_plain(scores['criterion'], 3)} | {_plain(scores['recall_high'], 3)} "
            f"| {_plain(scores['precision_medium'], 3)} | {met} |"
        )
        if not record["constraint_met"] and record["chosen_by"] == "validation":
            unmet.append(name)
    lines += ["", "Fitted on the validation blocks only; the test blocks never enter a decision."]
    if unmet:
        lines.append(
            "No candidate reached the class-2 recall floor for "
            + ", ".join(f"`{name}`" for name in unmet)
            + ": the rule with the highest class-2 recall was taken instead."
        )
    return lines


def predicted_counts(values: Mapping[str, Any]) -> np.ndarray:
    """Pixels predicted in each class (the confusion matrix's column sums) of one product on the test blocks."""
    return np.asarray(values["confusion"], dtype=np.int64).sum(axis=0)


def crf_class_lines(context: Mapping[str, Any], scores: Mapping[str, Any]) -> list[str]:
    """One line per CRF product: each class's predicted pixels on the test blocks before (the variant's
    ensemble) and after the CRF; a finding for every class the ensemble predicts and the CRF erases."""
    lines, findings = ["Predicted pixels per class on the test blocks, ensemble -> CRF (low / medium / high):", ""], []
    for name in sorted(scores):
        product = parse_product(name)
        variant, crf = product.variant, product.setting
        if product.stage != CRF or ensemble_entry(variant) not in scores:
            continue
        before, after = predicted_counts(scores[ensemble_entry(variant)]), predicted_counts(scores[name])
        counts = " / ".join(f"{b} -> {a}" for b, a in zip(before, after, strict=True))
        lines.append(f"* `{name}` ({context['crf_compat'][crf]}): {counts}")
        for k, (b, a) in enumerate(zip(before, after, strict=True)):
            if b > 0 and a == 0:
                findings.append(
                    f"**Finding:** the CRF `{crf}` ({context['crf_compat'][crf]}) erases the {CLASS_NAMES[k]} class "
                    f"of `{variant}`: its ensemble predicts {b} {CLASS_NAMES[k]} pixels on the test blocks, the CRF "
                    "none."
                )
    return lines + (["", *findings] if findings else [])


def reference_lines(
    scores: Mapping[str, Any],
    final: str,
    targets: Mapping[str, float],
    references: Mapping[str, str],
    record: Mapping[str, Any] | None,
) -> list[str]:
    """The final product against each pixel baseline (the comparisons' sentences) and the oracle's ceiling."""
    lines = []
    baselines = [name for name, kind in references.items() if kind == "baseline"]
    for result in (record or {}).get("comparisons", []):
        if result["a"] == final and result["b"] in baselines:
            lines += ["", "Against a pixel baseline: " + sentence(result, record["label"], record["units"], 3)]
    for name in (name for name, kind in references.items() if kind == "oracle" and name in scores):
        oracle, required = scores[name], float(targets["precision_medium"])
        precision = _num(oracle["precision_medium"])
        reachable = "within" if precision >= required else "beyond"
        ratio = _num(scores[final]["precision_medium"]) / precision if precision > 0 else float("nan")
        lines += [
            "",
            f"Oracle `{name}` (the synthetic scene's Bayes-optimal probabilities given its covariates, decision "
            f"`{oracle['decision']}`): kappa {_num(oracle['kappa_unweighted']):.3f}, class-1 precision "
            f"{_shown_plain(precision)} (recall {_shown_plain(_num(oracle['recall_medium']))}), class-2 recall "
            f"{_shown_plain(_num(oracle['recall_high']))}. The class-1 precision target {required:.3f} is {reachable} "
            f"what the data allow; `{final}` reaches {_shown_plain(ratio)} of the oracle's class-1 precision.",
        ]
    return lines


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
    reference_scores_path: str | os.PathLike[str],
    comparisons_path: str | os.PathLike[str],
    decision_paths: Mapping[str, str | os.PathLike[str]],
    context: Mapping[str, Any],
    targets: Mapping[str, float],
    baseline_path: str | os.PathLike[str] | None,
    oversampling_paths: Mapping[str, str],
    scores_md: str | os.PathLike[str],
    scores_csv: str | os.PathLike[str],
    success_md: str | os.PathLike[str],
    ablation_md: str | os.PathLike[str],
    confusion_png: str | os.PathLike[str],
    maps_png: str | os.PathLike[str],
    maps: Mapping[str, str],
) -> None:
    """Write the three markdown reports, the scores CSV and both figures (all texts built before any write).

    ``decision_paths``: every variant's decision record (the full variant's is required).

    ``maps`` names the rasters of the test-block figure: scene, labels, ensemble, uncertainty, crf, tiles.
    """
    scores = {**read_scores(scores_path), **read_scores(reference_scores_path)}
    record = read_comparisons(comparisons_path)
    full = context["full"]
    order = [full, *(variant for variant in decision_paths if variant != full)]
    decisions = {variant: read_json_object(decision_paths[variant], "riskseg decision JSON") for variant in order}
    final = final_product(context)
    if final not in scores:
        raise InputError(scores_path, f"has no product {final!r}")
    oversampling = {name: read_json_object(path, "oversampling summary") for name, path in oversampling_paths.items()}
    with_singles = {**scores, **single_seed_scores(context, scores)}
    texts = {
        scores_md: scores_markdown(context, scores, record),
        scores_csv: scores_frame(context, scores).to_csv(index=False),
        success_md: success_markdown(
            scores,
            final,
            targets,
            read_baseline(baseline_path),
            oversampling,
            record,
            decisions,
            crf_class_lines(context, scores),
            context.get("references"),
        ),
        ablation_md: ablation_markdown(context, with_singles, record),
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


def _shown(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:+.{digits}f}"


def _plain(value: float | None, digits: int) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _shown_plain(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _projected(value: float | None, digits: int) -> str:
    return "not projected" if value is None else f"{value:+.{digits}f}"
