"""The downscale report's tables: the write-up's layout table, the scores table and the per-seed CSV.

Both tables are built from the score files' values averaged over training seeds
(:func:`atmo.publish.comparisons.seed_rows`), products in :func:`atmo.downscale.products.table_order`;
the scores table also carries the comparisons' intervals and verdicts.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from atmo.downscale.losses import ACTIVE_KL_NATS
from atmo.downscale.products import parse_product, table_order
from atmo.downscale.variant_facts import VariantFacts
from atmo.errors import InputError
from atmo.publish import Column, Row, markdown_table, ordered
from atmo.publish.comparisons import interval_columns, mean_sd_column, seed_rows, sentence

#: Row kinds of the scores table, in table order (:attr:`atmo.downscale.products.Product.kind`).
KINDS: tuple[str, ...] = ("model", "reference", "baseline", "oracle")
#: Row kinds of the layout table: prior rows, posterior rows, then the test truth.
LAYOUT_KINDS: tuple[str, ...] = ("model", "reference", "truth")
#: The stochastic sampling modes the layout table lists.
SAMPLED_MODES: tuple[str, ...] = ("prior", "posterior")
NAME_COLUMN = "product"

_NOT_APPLICABLE = "-"


def _g(value: float) -> str:
    return format(value, "g")


def _active(count: float, latent_dim: int) -> str:
    """``3/16``, or the seed mean ``3.33/16``."""
    return f"{round(count, 2):g}/{latent_dim}"


def _history_at(histories: Sequence[pd.DataFrame], epoch: int, where: str) -> dict[str, Any]:
    """Validation KL and active units at ``epoch``, averaged over the seeds' histories; a seed that early
    stopping ended before ``epoch`` contributes its last epoch's (the weights its sampling job read)."""
    kl, units = [], []
    for history in histories:
        rows = history[history["epoch"] <= epoch]
        if rows.empty:
            raise InputError(where, f"has no row for epoch {epoch}")
        row = rows.iloc[-1]
        kl.append(float(row["val_kl"]))
        units.append(row.get("val_active_units"))
    active = None if any(u is None for u in units) else float(np.mean(units))
    return {"val_kl": float(np.mean(kl)), "val_active_units": active}


def _distinct(values: Sequence[Any]) -> str:
    shown = sorted({_g(v) if isinstance(v, float) else str(v) for v in values if v is not None})
    return ", ".join(shown) if shown else "n/a"


def layout_table_markdown(
    scores: Mapping[str, Mapping[str, Any]],
    facts: Mapping[str, VariantFacts],
    histories: Mapping[str, Sequence[pd.DataFrame]] | None = None,
) -> str:
    """The write-up's layout: one row per (variant, epoch, prior/posterior) and a ``real`` row (module docstring).

    ``scores`` holds each product's scores averaged over its training seeds (:func:`seed_rows`);
    ``facts`` lists the variants in table order; ``histories`` (variant -> each seed's ``history.csv``
    frame), when given, adds each row's validation KL and batch-averaged active units at its epoch.
    """
    order = list(facts)
    products = sorted(
        (p for p in map(parse_product, scores) if p.mode in SAMPLED_MODES), key=lambda p: table_order(p, order)
    )
    rows = []
    for product in products:
        values, variant = scores[product.name], facts[product.variant]
        display = {
            "version": variant.name,
            "architecture": variant.architecture,
            "beta_kl": _g(variant.beta_kl),
            "w_max": _g(variant.w_max),
            "tail_boost": _g(variant.tail_boost),
            "epoch": str(product.epoch),
            "mode": product.mode,
            "max_mm": values.get("samples_max_mm"),
            "mean_mm": values.get("samples_mean_mm"),
            "p95_mm": values.get("samples_p95_mm"),
            "max_ratio": values.get("ratio_max"),
            "diversity_mm": values.get("diversity_mm"),
            "diversity_relative": values.get("diversity_relative"),
            "active_kl": _active(variant.active_units_kl, variant.latent_dim),
            "active_burda": _active(variant.active_units_burda, variant.latent_dim),
        }
        if histories is not None:
            display.update(_history_at(histories[variant.name], product.epoch, f"history.csv of {variant.name}"))
        rows.append(Row(product.name, product.kind, display))
    truth = next(iter(scores.values()))
    real = {key: _NOT_APPLICABLE for key in ("version", "architecture", "beta_kl", "w_max", "tail_boost", "epoch")}
    real.update(version="real", architecture="test truth", mode=_NOT_APPLICABLE)
    real.update(max_mm=truth["truth_max_mm"], mean_mm=truth["truth_mean_mm"], p95_mm=truth.get("truth_p95_mm"))
    real.update(max_ratio=1.0, active_kl=_NOT_APPLICABLE, active_burda=_NOT_APPLICABLE)
    rows.append(Row("real", "truth", real))
    columns = [
        Column("version", "version"),
        Column("architecture", "architecture"),
        Column("beta-KL", "beta_kl"),
        Column("w_max", "w_max"),
        Column("tail boost", "tail_boost"),
        Column("epoch", "epoch"),
        Column("mode", "mode"),
        Column("max (mm)", "max_mm", 1),
        Column("max / real", "max_ratio", 2),
        Column("mean (mm)", "mean_mm", 2),
        Column("P95 (mm)", "p95_mm", 1),
        Column("diversity (mm)", "diversity_mm", 4),
        Column("diversity (relative)", "diversity_relative", 4),
        Column("active units (KL)", "active_kl"),
        Column("active units (Burda)", "active_burda"),
    ]
    if histories is not None:
        columns += [Column("val KL (nats)", "val_kl", 2), Column("val active units", "val_active_units", 1)]
    sampled = [scores[p.name] for p in products]
    exported = "; ".join(
        f"{f.name}: epoch {', '.join('n/a' if e is None else str(e) for e in f.exported_epochs)}"
        for f in facts.values()
    )
    n_seeds = _distinct([scores[p.name].get("n_seeds") for p in products])
    notes = [
        f"Held-out test days only (N = {int(truth['n_cases'])}); K = {_distinct([s['k'] for s in sampled])} samples "
        f"per test case at temperature T = {_distinct([s.get('temperature') for s in sampled])}. Before any statistic, "
        "values below the scoring's dry threshold are set to 0 in samples and truth. Every number of a model row "
        f"is the mean over its training seeds ({n_seeds} per variant; scores.csv has each seed's).",
        "prior: z ~ N(0, T² I), downscaling from the coarse input alone; posterior: z ~ q(z | coarse, truth), "
        "a reconstruction that sees the truth (the write-up's two modes).",
        "max, mean, P95: pooled over every pixel of every sample of every test case (mm); P95 is read from "
        "0.01 mm histogram bins. max / real: the row's max over the truth's. The `real` row gives the same "
        "statistics of the test truth (`-`: not applicable).",
        "diversity (mm): the across-sample standard deviation of each pixel (ddof = 1, over the K samples of one "
        "case), averaged over pixels and test cases. diversity (relative): the sum of those standard deviations "
        "over the sum of the ensemble mean, a pooled coefficient of variation. The write-up's diversity (0.002, "
        "0.23) did not say which; both are shown.",
        f"active units: latent dimensions whose mean KL over the validation split exceeds {_g(ACTIVE_KL_NATS)} nats "
        f"(KL), or whose posterior mean varies across validation cases by more than {_g(ACTIVE_KL_NATS)} (Burda et "
        "al. 2016), of each variant's exported checkpoint (mean over seeds), not of the sampled epoch "
        f"(exported epochs per seed: {exported}).",
    ]
    if histories is not None:
        notes.append(
            "val KL, val active units: the sampled epoch's validation KL (nats per case) and KL active units "
            "averaged over validation batches, from history.csv."
        )
    return markdown_table(rows, columns, name_header=NAME_COLUMN, notes=_paragraphs(notes), kinds=LAYOUT_KINDS)


def _paragraphs(notes: Sequence[str]) -> list[str]:
    """Notes separated by blank lines, so markdown renders each as its own paragraph."""
    return [line for note in notes for line in (note, "")][:-1]


def _numbered(keys: Sequence[str], pattern: str) -> list[tuple[float, str]]:
    """``(number, label)`` of every key matching ``pattern`` (one group), by number; the label is the group."""
    found = {}
    for key in keys:
        match = re.fullmatch(pattern, key)
        if match is not None:
            label = match[1]
            found[label] = float(label.strip("pm"))
    return sorted((number, label) for label, number in found.items())


def score_columns(keys: Sequence[str]) -> list[Column]:
    """The markdown columns for the score keys present: CRPS blocks, rank, spread, P99, LSD, FSS, tail MAE.

    FSS is shown compactly: the highest truth percentile and the highest absolute threshold, each at
    the smallest and largest window (the CSV has them all).
    """
    columns = []
    for block, label in _numbered(keys, r"crps_b([0-9]+)_mm"):
        if block == 1:
            columns.append(mean_sd_column("CRPS (mm)", f"crps_b{label}_mm", 3))
        else:
            columns.append(Column(f"CRPS {int(block)}x{int(block)} (mm)", f"crps_b{label}_mm", 3))
    columns += [
        Column("rank outliers", "rank_outlier_fraction", 3),
        Column("expected", "rank_expected_outlier_fraction", 3),
        Column("reliability index", "rank_reliability_index", 3),
        Column("spread/skill", "spread_skill_ratio", 2),
    ]
    ratios = _numbered(keys, r"ratio_(p[0-9.]+)")
    if ratios:
        label = ratios[-1][1]
        columns.append(Column(f"{label.upper()} ratio", f"ratio_{label}", 2))
    columns.append(Column("LSD (dB)", "log_spectral_distance_db", 2))
    labels = _numbered(keys, r"fss_([0-9.]+mm|p[0-9.]+)_w[0-9]+")
    windows = [int(w) for w, _ in _numbered(keys, r"fss_(?:[0-9.]+mm|p[0-9.]+)_w([0-9]+)")]
    chosen = [
        group[-1][1]
        for group in ([x for x in labels if x[1].startswith("p")], [x for x in labels if x[1].endswith("mm")])
        if group
    ]
    for label in chosen:
        for window in sorted({windows[0], windows[-1]}) if windows else []:
            columns.append(Column(f"FSS {label} w{window}", f"fss_{label}_w{window}", 3))
    for _, label in _numbered(keys, r"tail_mae_(p[0-9.]+)_mm"):
        columns.append(Column(f"tail MAE >{label} (mm)", f"tail_mae_{label}_mm", 2))
    return columns


def score_rows(per_seed: Mapping[str, Mapping[str, Mapping[str, Any]]], order: Sequence[str] = ()) -> list[Row]:
    """One row per product: its scores' mean (and ``<key>_sd``) over training seeds, ``n_seeds``."""
    products = sorted(map(parse_product, per_seed), key=lambda p: table_order(p, order))
    return ordered([seed_rows(p.name, p.kind, per_seed[p.name]) for p in products], KINDS)


def seed_frame(per_seed: Mapping[str, Mapping[str, Mapping[str, Any]]], order: Sequence[str] = ()) -> pd.DataFrame:
    """The long table: one row per (product, seed), ``product, kind, seed`` then every scalar score."""
    products = sorted(map(parse_product, per_seed), key=lambda p: (KINDS.index(p.kind), table_order(p, order)))
    records = [
        {
            NAME_COLUMN: p.name,
            "kind": p.kind,
            "seed": seed,
            **{key: value for key, value in scores.items() if not isinstance(value, list | dict)},
        }
        for p in products
        for seed, scores in per_seed[p.name].items()
    ]
    frame = pd.DataFrame(records)
    keys = sorted(set(frame.columns) - {NAME_COLUMN, "kind", "seed"})
    return frame[[NAME_COLUMN, "kind", "seed", *keys]]


def comparison_note(record: Mapping[str, Any] | None) -> str:
    """The headline sentence of the comparisons (its verdict comes from the interval), or why there is none."""
    if record is None or record.get("headline") is None:
        return "No headline comparison (results/downscale/comparisons.json names none)."
    return sentence(record["headline"], record["label"], record["units"], 3)


def scores_markdown(
    per_seed: Mapping[str, Mapping[str, Mapping[str, Any]]],
    order: Sequence[str] = (),
    record: Mapping[str, Any] | None = None,
) -> str:
    """Every product's scores (mean over seeds; variants in ``order``), the comparisons' columns and the definitions.

    ``per_seed`` is product -> seed -> score dict; ``record`` the comparisons (``comparisons.json``),
    whose intervals and verdicts fill the last two columns of the compared products.
    """
    rows = score_rows(per_seed, order)
    scores = {row.name: row.scores for row in rows}
    keys = sorted({key for values in scores.values() for key in values})
    ensembles = [values for values in scores.values() if not values.get("deterministic")]
    first = next(iter(scores.values()))
    k = _distinct([v["k"] for v in ensembles])
    columns = [*score_columns(keys), Column("seeds", "n_seeds", 0)]
    if record is not None:
        columns += interval_columns(record)
    notes = [
        comparison_note(record),
        f"Held-out test days only (N = {int(first['n_cases'])}); ensembles have K = {k} "
        "members. kind: model = prior mode (downscaling from the coarse input alone); reference = posterior mode "
        "and posterior mean (z encodes the truth); baseline = bicubic (deterministic), bicubic + training-"
        "residual noise and RainFARM; oracle = K draws from the synthetic generator's own conditional distribution "
        "given the coarse field (the floor: shown, never compared). Values below the dry threshold are 0 in samples "
        "and truth.",
        "Every score is the mean over the product's training seeds (seeds: how many), the per-pixel CRPS as mean ± sd "
        "(sd over seeds); scores.csv has one row per seed. The interval column: the compared product's CRPS minus "
        "its opponent's (the best baseline), with the 95 % paired bootstrap interval over test days and seeds; "
        "verdict: beats / loses when the interval excludes 0, otherwise does not separate. Which product of each "
        "variant is compared is fixed in the config (downscale.comparison); comparisons.md lists every pair."
        + (f" {record['scheme'].capitalize()}." if record is not None else ""),
        f"CRPS ({_distinct([v.get('crps_estimator') for v in scores.values()])} estimator) per pixel and of b x b "
        "block means, mm; a deterministic product's CRPS is its MAE and its ensemble scores are n/a. rank outliers: "
        "share of truth values below or above every member (expected: 2/(K+1) for a calibrated ensemble); "
        "reliability index: sum over ranks of abs(frequency - 1/(K+1)); spread/skill: ensemble spread over the RMSE of "
        "the ensemble mean with the (K+1)/K correction (1 = calibrated, < 1 over-confident).",
        "P99 ratio: pooled P99 of all members over the truth's. LSD: log-spectral distance between the RAPSD of the "
        "members and of the truth (dB). FSS pXX / Nmm w: mean over members of each member's fractions skill score "
        "at the truth's percentile or the absolute threshold, window w pixels (every threshold, window and the "
        "exceedance-probability FSS in scores.csv). tail MAE >pXX: MAE of every member where the truth exceeds "
        "its XXth percentile.",
    ]
    return markdown_table(rows, columns, name_header=NAME_COLUMN, notes=_paragraphs(notes), kinds=KINDS)
