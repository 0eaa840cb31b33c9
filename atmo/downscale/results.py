"""The downscale report: the seed's layout table, the ensemble scores table and four figures.

Everything is read from what earlier jobs wrote: one flat score JSON per product and training seed
(:func:`atmo.downscale.scoring.score_samples`, held-out test days only), the ensemble files behind
them (:mod:`atmo.downscale.sample_files`, for the two figures that need fields), each variant's config
entry and each seed's ``metrics.json`` (:func:`atmo.downscale.training.train_variant`), and the
experiment's ``comparisons.json`` (:mod:`atmo.downscale.comparison`: paired intervals over test
days and the verdicts). Nothing is scored again, so the report reruns in seconds.

Product names (the keys of ``scores`` and ``samples``), parsed by :func:`parse_product`:

- ``<variant>/epoch<E>_prior`` and ``<variant>/epoch<E>_posterior``: K samples of checkpoint epoch E;
- ``<variant>/epoch<E>_posterior_mean``: ``decode(mu)``, deterministic;
- ``baseline/bicubic`` (deterministic), ``baseline/bicubic_noise`` and ``baseline/rainfarm`` (K members);
- ``oracle/generator``: K draws from the synthetic generator's own conditional distribution (the floor).

Roles (row kinds, in table order): ``model`` is the prior mode, the actual downscaling from the
coarse input alone; ``reference`` is the posterior mode and the posterior mean, which encode the
*truth* into z (the seed's reconstruction mode) — an upper reference, not a downscaler; ``baseline``
is the bicubic pair and RainFARM; ``oracle`` (last) is the synthetic generator's own ensemble, shown and
never compared. No row is picked as "best" here: which product of each variant is compared,
and with what, is fixed in the config (``downscale.comparison``), and every "beats" / "loses" comes
from the comparisons' intervals.

Outputs of :func:`write_report`:

- the seed table: the seed's "Results Summary" / "Comparison Table" layout, one row per (variant,
  epoch, prior/posterior) with the architecture named from ``inject_blocks``, beta-KL, w_max, max,
  mean, P95, diversity and the latent active units (means over the training seeds), and a ``real``
  row for the test truth;
- ``scores.md``: CRPS (per pixel as mean ± sd over seeds, and pooled blocks), rank histogram,
  spread-skill, P99 ratio, log-spectral distance, FSS and tail MAE of every product (means over
  seeds), the number of seeds, and each compared product's CRPS difference [95 % interval] against
  its opponent with the verdict; ``scores.csv``: one row per (product, seed), every scalar key;
- figures (the first training seed of each product): one extreme test case, value distributions,
  RAPSD curves and rank histograms.

The "latest epoch" of a variant, used by the figures, is the largest checkpoint epoch among its
products.
"""

from __future__ import annotations

import inspect
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from atmo.downscale.baselines import BASELINES
from atmo.downscale.losses import ACTIVE_KL_NATS, TailWeightedLoss
from atmo.downscale.models import ConditionalVAE, _inject_indices
from atmo.downscale.sample_files import iter_batches, read_header, read_truth
from atmo.downscale.sampling import MODES
from atmo.errors import ConfigError, InputError
from atmo.io.atomic import write_text
from atmo.io.hdf5 import open_hdf5
from atmo.io.metrics_json import read_json_object
from atmo.publish import (
    Column,
    Row,
    as_float,
    markdown_table,
    ordered,
    panel_grid,
    plot_rows,
    save_figure,
)
from atmo.publish.comparisons import interval_columns, mean_sd_column, read_comparisons, seed_rows, sentence

PathLike = str | os.PathLike[str]

#: Row kinds of the scores table, in table order (module docstring).
KINDS: tuple[str, ...] = ("model", "reference", "baseline", "oracle")
#: Row kinds of the seed table: prior rows, posterior rows, then the test truth.
SEED_KINDS: tuple[str, ...] = ("model", "reference", "truth")
#: The stochastic sampling modes the seed table lists.
SAMPLED_MODES: tuple[str, ...] = ("prior", "posterior")
BASELINE_GROUP = "baseline"
#: The oracle's product name (:data:`atmo.downscale.comparison.ORACLE_PRODUCT`) and its mode attribute.
ORACLE_NAME, ORACLE_MODE = "oracle/generator", "oracle"
#: Line style per kind in the RAPSD figure (the shared styles know no ``reference``).
STYLES: Mapping[str, str] = {"model": "-", "reference": "-.", "baseline": "--", "oracle": ":"}
NAME_COLUMN = "product"

_MODEL_NAME = re.compile(r"(?P<variant>[a-z][a-z0-9_]*)/epoch(?P<epoch>[0-9]+)_(?P<mode>[a-z_]+)")
_SCORE_KEYS = ("method", "variant", "epoch", "mode", "k", "n_cases", "crps_mm", "truth_max_mm", "truth_mean_mm")
_METRICS_KEYS = ("latent_active_units_kl", "latent_active_units_burda")
_NOT_APPLICABLE = "-"
# Bar colour per kind in the rank figure: prior (model), posterior (reference), baseline.
_KIND_COLOURS = {"model": "C0", "reference": "C1", "baseline": "C7", "oracle": "C2"}
_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}
# Bins of the exceedance curves: log-spaced from the dry threshold to the largest value drawn.
_N_DISTRIBUTION_BINS = 400
# Lower end of the log colour scale and of the distributions when the dry threshold is 0.
_FLOOR_MM = 0.01


def _defaults(callable_: Callable[..., Any]) -> dict[str, Any]:
    """The keyword defaults of a constructor: the values a config entry gets for a key it omits."""
    parameters = inspect.signature(callable_).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


# From the constructors themselves, so the table names what a job that omits a key really trained.
CVAE_DEFAULTS = _defaults(ConditionalVAE)
LOSS_DEFAULTS = _defaults(TailWeightedLoss)


# -- product names and inputs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    """One scored product, parsed from its name; ``variant`` and ``epoch`` are ``None`` for a baseline."""

    name: str
    mode: str
    variant: str | None = None
    epoch: int | None = None

    @property
    def kind(self) -> str:
        """``model`` (prior), ``reference`` (posterior, posterior mean), ``baseline`` or ``oracle`` (module
        docstring)."""
        if self.variant is None:
            return "oracle" if self.mode == ORACLE_MODE else "baseline"
        return "model" if self.mode == "prior" else "reference"


def parse_product(name: str) -> Product:
    """``"v3/epoch110_prior"`` -> variant v3, epoch 110, mode prior; ``"baseline/bicubic"`` -> mode bicubic.

    Raises ``ValueError`` for any other name, so a mistyped key fails here rather than as a missing row.
    """
    group, _, method = name.partition("/")
    if group == BASELINE_GROUP and method in BASELINES:
        return Product(name, method)
    if name == ORACLE_NAME:
        return Product(name, ORACLE_MODE)
    match = _MODEL_NAME.fullmatch(name)
    if match is None or match["mode"] not in MODES:
        baselines = [*(f"{BASELINE_GROUP}/{b}" for b in BASELINES), ORACLE_NAME]
        raise ValueError(
            f"product name {name!r} is neither '<variant>/epoch<E>_<mode>' with mode one of {list(MODES)} "
            f"nor one of {baselines}"
        )
    return Product(name, match["mode"], match["variant"], int(match["epoch"]))


def read_scores(path: PathLike) -> dict[str, Any]:
    """One product's score JSON; :class:`InputError` if it is not one of :func:`score_samples`'s."""
    scores = read_json_object(path, "downscale score JSON")
    missing = [key for key in _SCORE_KEYS if key not in scores]
    if missing:
        raise InputError(path, f"not a downscale score file: key(s) {missing} missing")
    return scores


def read_metrics(path: PathLike) -> dict[str, Any]:
    """A variant's training ``metrics.json``; :class:`InputError` without the latent activity keys."""
    metrics = read_json_object(path, "training metrics JSON")
    missing = [key for key in _METRICS_KEYS if key not in metrics]
    if missing:
        raise InputError(path, f"not a downscale training metrics file: key(s) {missing} missing")
    return metrics


def read_history(path: PathLike) -> pd.DataFrame:
    """A variant's ``history.csv`` (one row per epoch); :class:`InputError` without ``epoch, val_kl``."""
    try:
        history = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InputError(path, f"not a readable history CSV ({error})") from error
    missing = [key for key in ("epoch", "val_kl") if key not in history.columns]
    if missing:
        raise InputError(path, f"not a training history: column(s) {missing} missing")
    return history


def _matches(key: str, held: Any, named: Any) -> bool:
    """Whether a file's ``key`` fits its product name; an earlier ``epoch`` does: early stopping ended
    that run before the named epoch, and its sampling job read the last one trained
    (:func:`atmo.downscale.training.sampled_checkpoint`)."""
    return held <= named if key == "epoch" and named is not None else held == named


def _check_product(product: Product, scores: Mapping[str, Any], where: PathLike) -> None:
    """The name must say what the file is: a wired-up wrong file would otherwise fill the wrong row."""
    expected: dict[str, Any] = {"mode": product.mode}
    if product.variant is not None:
        expected.update(variant=product.variant, epoch=product.epoch)
    wrong = {key: scores[key] for key, value in expected.items() if not _matches(key, scores[key], value)}
    if wrong:
        raise InputError(where, f"holds {wrong}, but is passed as product {product.name!r}")


def _check_same_truth(products: Mapping[str, Mapping[str, Any]], paths: Mapping[str, PathLike]) -> None:
    """Rows compare only if every product was scored on the same test days (same truth statistics)."""
    first, reference = next(iter(products.items()))
    for name, scores in products.items():
        if scores["n_cases"] != reference["n_cases"] or not all(
            math.isclose(scores[key], reference[key], rel_tol=1e-6, abs_tol=1e-9)
            for key in ("truth_max_mm", "truth_mean_mm")
        ):
            raise InputError(
                paths[name],
                f"was scored on other test cases than {first!r} (n_cases {scores['n_cases']} vs "
                f"{reference['n_cases']}, truth max {scores['truth_max_mm']} vs {reference['truth_max_mm']} mm)",
            )


def _check_same_k(products: Mapping[str, Mapping[str, Any]], paths: Mapping[str, PathLike]) -> None:
    """Every ensemble (not deterministic) has the same K: CRPS, rank histograms and spread depend on K."""
    sizes = {name: scores["k"] for name, scores in products.items() if not scores.get("deterministic")}
    if len(set(sizes.values())) > 1:
        first = next(iter(sizes))
        odd = next(name for name, k in sizes.items() if k != sizes[first])
        raise InputError(
            paths[odd], f"has K = {sizes[odd]} members, {first!r} has {sizes[first]}: every ensemble needs the same K"
        )


# -- variants -------------------------------------------------------------------------------------


def architecture(params: Mapping[str, Any]) -> str:
    """The seed's name for a decoder's spatial injection, from ``inject_blocks`` and ``n_blocks``.

    ``[]`` -> "no spatial injection" (V1), all blocks -> "coarse field at every decoder block" (V2),
    ``[0]`` -> "first block only" (V3), ``[0, 1]`` -> "first two blocks" (the seed's option 3), other
    sets by their indices. Omitted keys take :class:`ConditionalVAE`'s defaults. ``ValueError`` for
    an ``inject_blocks`` the model would refuse.
    """
    n_blocks = params.get("n_blocks", CVAE_DEFAULTS["n_blocks"])
    inject = _inject_indices(params.get("inject_blocks", CVAE_DEFAULTS["inject_blocks"]), n_blocks)
    if not inject:
        return "no spatial injection"
    if len(inject) == n_blocks:
        return "coarse field at every decoder block"
    if inject == tuple(range(len(inject))):
        return "first block only" if len(inject) == 1 else f"first {_NUMBER_WORDS.get(len(inject), len(inject))} blocks"
    return f"coarse field at decoder blocks {', '.join(map(str, inject))} (of 0..{n_blocks - 1})"


@dataclass(frozen=True)
class VariantFacts:
    """What the seed table says of a variant: its configuration and its latent activity after training."""

    name: str
    architecture: str
    beta_kl: float
    w_max: float
    tail_boost: float
    latent_dim: int
    active_units_kl: float
    active_units_burda: float
    exported_epochs: tuple[int | None, ...]


def variant_facts(name: str, spec: Mapping[str, Any], runs: Sequence[Mapping[str, Any]]) -> VariantFacts:
    """Facts of variant ``name`` from its config entry ``spec`` and each training seed's ``metrics.json``.

    The active units are the mean over seeds; the exported epochs are listed per seed.
    """
    metrics = runs[0]
    params, loss = spec.get("params") or {}, {**LOSS_DEFAULTS, **(spec.get("loss") or {})}
    try:
        named = architecture(params)
    except ValueError as error:
        raise ConfigError(f"invalid config: key 'downscale.variants.{name}.params': {error}") from error
    kl_per_dim = metrics.get("latent_kl_per_dim")
    latent_dim = (
        len(kl_per_dim) if isinstance(kl_per_dim, list) else params.get("latent_dim", CVAE_DEFAULTS["latent_dim"])
    )
    exported = [run.get("exported_epoch") for run in runs]
    return VariantFacts(
        name=name,
        architecture=named,
        beta_kl=float(loss["beta_kl"]),
        w_max=float(loss["w_max"]),
        tail_boost=float(loss["tail_boost"]),
        latent_dim=int(latent_dim),
        active_units_kl=float(np.mean([run["latent_active_units_kl"] for run in runs])),
        active_units_burda=float(np.mean([run["latent_active_units_burda"] for run in runs])),
        exported_epochs=tuple(None if e is None else int(e) for e in exported),
    )


# -- order ----------------------------------------------------------------------------------------


def _sort_key(product: Product, variant_order: Sequence[str] = ()) -> tuple:
    """Variants in config order (then by name), epochs ascending, modes in :data:`MODES` order, then the
    baselines and the oracle last."""
    if product.variant is None:
        return (1, 0, "", 0, BASELINES.index(product.mode) if product.mode in BASELINES else len(BASELINES))
    position = variant_order.index(product.variant) if product.variant in variant_order else len(variant_order)
    return (0, position, product.variant, product.epoch, MODES.index(product.mode))


def latest_epochs(products: Sequence[Product]) -> dict[str, int]:
    """Each variant's largest checkpoint epoch among ``products``, in first-seen order."""
    latest: dict[str, int] = {}
    for product in products:
        if product.variant is not None:
            latest[product.variant] = max(latest.get(product.variant, product.epoch), product.epoch)
    return latest


# -- tables ---------------------------------------------------------------------------------------


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


def seed_table_markdown(
    scores: Mapping[str, Mapping[str, Any]],
    facts: Mapping[str, VariantFacts],
    histories: Mapping[str, Sequence[pd.DataFrame]] | None = None,
) -> str:
    """The seed's layout: one row per (variant, epoch, prior/posterior) and a ``real`` row (module docstring).

    ``scores`` holds each product's scores averaged over its training seeds (:func:`seed_rows`);
    ``facts`` lists the variants in table order; ``histories`` (variant -> each seed's ``history.csv``
    frame), when given, adds each row's validation KL and batch-averaged active units at its epoch.
    """
    order = list(facts)
    products = sorted(
        (p for p in map(parse_product, scores) if p.mode in SAMPLED_MODES), key=lambda p: _sort_key(p, order)
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
        "a reconstruction that sees the truth (the seed's two modes).",
        "max, mean, P95: pooled over every pixel of every sample of every test case (mm); P95 is read from "
        "0.01 mm histogram bins. max / real: the row's max over the truth's. The `real` row gives the same "
        "statistics of the test truth (`-`: not applicable).",
        "diversity (mm): the across-sample standard deviation of each pixel (ddof = 1, over the K samples of one "
        "case), averaged over pixels and test cases. diversity (relative): the sum of those standard deviations "
        "over the sum of the ensemble mean, a pooled coefficient of variation. The seed's diversity (0.002, "
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
    return markdown_table(rows, columns, name_header=NAME_COLUMN, notes=_paragraphs(notes), kinds=SEED_KINDS)


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


def _score_rows(per_seed: Mapping[str, Mapping[str, Mapping[str, Any]]], order: Sequence[str] = ()) -> list[Row]:
    """One row per product: its scores' mean (and ``<key>_sd``) over training seeds, ``n_seeds``."""
    products = sorted(map(parse_product, per_seed), key=lambda p: _sort_key(p, order))
    return ordered([seed_rows(p.name, p.kind, per_seed[p.name]) for p in products], KINDS)


def seed_frame(per_seed: Mapping[str, Mapping[str, Mapping[str, Any]]], order: Sequence[str] = ()) -> pd.DataFrame:
    """The long table: one row per (product, seed), ``product, kind, seed`` then every scalar score."""
    products = sorted(map(parse_product, per_seed), key=lambda p: (KINDS.index(p.kind), _sort_key(p, order)))
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
    rows = _score_rows(per_seed, order)
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


# -- figures --------------------------------------------------------------------------------------


def _ax_text(ax: Axes, text: str) -> None:
    """A message in the middle of an empty panel (a product that was not sampled)."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes)


def _cmap():
    """Dry (below the colour scale) and masked cells white, as on a rain map."""
    return colormaps["viridis"].with_extremes(under="white", bad="white")


def extreme_case_index(truth_mm: np.ndarray) -> int:
    """The test case ``truth_mm (N, H, W)`` with the largest maximum (the first one on a tie)."""
    return int(np.argmax(np.asarray(truth_mm).reshape(len(truth_mm), -1).max(axis=1)))


def case_figure(
    coarse_mm: np.ndarray,
    truth_mm: np.ndarray,
    members_mm: Mapping[str, Mapping[str, np.ndarray | None]],
    *,
    epochs: Mapping[str, int],
    title: str,
    vmin_mm: float,
) -> Figure:
    """Coarse input ``(h, w)`` and truth ``(H, W)``, then per variant one posterior and one prior member.

    ``members_mm`` is variant -> mode -> field ``(H, W)`` (``None``: not sampled). One log colour scale
    from ``vmin_mm`` (white below) to the largest value shown, so intensities compare across panels.
    """
    fields = [coarse_mm, truth_mm, *(f for modes in members_mm.values() for f in modes.values() if f is not None)]
    vmax = max(float(np.max(f)) for f in fields)
    norm = LogNorm(vmin=vmin_mm, vmax=max(vmax, 10 * vmin_mm))
    fig, axes = panel_grid(2 + 2 * len(members_mm), max_columns=2, panel_size=(3.4, 3.0))
    panels: list[tuple[str, np.ndarray | None]] = [
        (f"coarse input {coarse_mm.shape[0]}x{coarse_mm.shape[1]}, max {np.max(coarse_mm):.1f} mm", coarse_mm),
        (f"truth {truth_mm.shape[0]}x{truth_mm.shape[1]}, max {np.max(truth_mm):.1f} mm", truth_mm),
    ]
    for variant, modes in members_mm.items():
        for mode in ("posterior", "prior"):
            field = modes.get(mode)
            label = f"{variant} {mode}, epoch {epochs[variant]}"
            panels.append((f"{label}, max {np.max(field):.1f} mm" if field is not None else label, field))
    image = None
    for ax, (label, field) in zip(axes.flat, panels, strict=False):
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(label, fontsize="small")
        if field is None:
            _ax_text(ax, "not sampled")
            continue
        image = ax.imshow(np.where(field < vmin_mm, 0.0, field), norm=norm, cmap=_cmap(), interpolation="nearest")
    fig.colorbar(image, ax=axes, shrink=0.5, extend="min", label="precipitation (mm, log scale)")
    fig.suptitle(title)
    return fig


def distribution_edges(vmin_mm: float, vmax_mm: float) -> np.ndarray:
    """Log-spaced bin edges from ``vmin_mm`` to just above ``vmax_mm`` (so the maximum is counted)."""
    top = max(vmax_mm, 10 * vmin_mm) * (1 + 1e-6)
    return np.geomspace(vmin_mm, top, _N_DISTRIBUTION_BINS + 1)


def exceedance(counts: np.ndarray, total: int) -> np.ndarray:
    """``P(value >= edge_i)`` at the lower edge of each bin from per-bin ``counts`` out of ``total`` values.

    ``total`` includes the dry values below the first edge, so the first point is the wet fraction.
    Zero probabilities are NaN (a gap on the log axis rather than a drop to the floor).
    """
    tail = np.cumsum(np.asarray(counts, dtype=np.float64)[::-1])[::-1] / total
    return np.where(tail > 0, tail, np.nan)


def _histograms(path: PathLike, edges: np.ndarray, dry_mm: float) -> tuple[np.ndarray, int, np.ndarray, int]:
    """Counts per bin of the truth and of all members of one ensemble file, streamed by case batches."""
    truth_counts, sample_counts = np.zeros(len(edges) - 1, np.int64), np.zeros(len(edges) - 1, np.int64)
    n_truth = n_samples = 0
    for truth, samples in iter_batches(path, 16):
        for values, counts in ((truth, truth_counts), (samples, sample_counts)):
            counts += np.histogram(np.where(values < dry_mm, 0.0, values), bins=edges)[0]
        n_truth, n_samples = n_truth + truth.size, n_samples + samples.size
    return truth_counts, n_truth, sample_counts, n_samples


def distributions_figure(
    curves: Mapping[str, Mapping[str, tuple[np.ndarray, float]]], edges: np.ndarray, *, epochs: Mapping[str, int]
) -> Figure:
    """One panel per variant: exceedance curves of ``truth`` and each mode, ``curves[variant][label] = (P, max)``."""
    fig, axes = panel_grid(max(len(curves), 1), sharex=True, sharey=True)
    colours = {"truth": "k", "prior": "C0", "posterior": "C1"}
    for ax, (variant, lines) in zip(axes.flat, curves.items(), strict=False):
        for label, (probability, maximum) in lines.items():
            ax.step(
                edges[:-1], probability, where="post", color=colours.get(label), label=f"{label} (max {maximum:.0f})"
            )
        ax.set_yscale("log")
        ax.set_title(f"{variant}, epoch {epochs[variant]}", fontsize="small")
        ax.legend(fontsize="small")
        ax.grid(alpha=0.3)
    for ax in axes[-1]:
        ax.set_xlabel("precipitation x (mm)")
    for ax in axes[:, 0]:
        ax.set_ylabel("P(value >= x)")
    return fig


def _spectrum(values: Mapping[str, Any], key: str) -> tuple[np.ndarray, np.ndarray]:
    """``(wavenumber, power)`` of a score dict, NaN where either is not positive (the log axes cannot show it)."""
    k = np.array([as_float(v) for v in values["rapsd_wavenumber"]])
    power = np.array([as_float(v) for v in values[key]])
    keep = (k > 0) & (power > 0)
    return np.where(keep, k, np.nan), np.where(keep, power, np.nan)


def rapsd_figure(panels: Mapping[str, Sequence[Row]], *, epochs: Mapping[str, int]) -> Figure:
    """One panel per variant: the truth's RAPSD and that of each of ``panels[variant]``'s rows, log-log."""
    fig, axes = panel_grid(max(len(panels), 1), sharex=True, sharey=True)
    for ax, (variant, rows) in zip(axes.flat, panels.items(), strict=False):
        ax.plot(*_spectrum(rows[0].scores, "rapsd_truth"), "k-", linewidth=2, label="truth")
        plot_rows(ax, rows, lambda row: _spectrum(row.scores, "rapsd_samples"), styles=STYLES, marker="")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())  # the minor labels of a short decade overlap
        ax.set_title(f"{variant}, epoch {epochs[variant]}", fontsize="small")
        ax.legend(fontsize="x-small")
        ax.grid(alpha=0.3, which="both")
    for ax in axes[-1]:
        ax.set_xlabel("wavenumber (cycles per pixel)")
    for ax in axes[:, 0]:
        ax.set_ylabel("power (mm²)")
    return fig


def rank_figure(rows: Sequence[Row]) -> Figure:
    """One panel per ensemble product: its normalised rank histogram and the flat 1/(K+1) line."""
    fig, axes = panel_grid(max(len(rows), 1), max_columns=4, panel_size=(3.4, 2.8), sharey=True)
    if not rows:
        _ax_text(axes[0, 0], "no ensemble product")
    for ax, row in zip(axes.flat, rows, strict=False):
        counts = np.asarray(row.scores["rank_histogram"], dtype=np.float64)
        ax.bar(np.arange(counts.size), counts / counts.sum(), width=0.9, color=_KIND_COLOURS.get(row.kind, "C7"))
        ax.axhline(1.0 / counts.size, color="k", linestyle="--", linewidth=1)
        outliers, expected = as_float(row.scores.get("rank_outlier_fraction")), 2.0 / counts.size
        ax.set_title(f"{row.name}\noutliers {outliers:.3f} (flat {expected:.3f})", fontsize="small")
        ax.set_xlabel("rank of the truth among the K members")
    for ax in axes[:, 0]:
        ax.set_ylabel("frequency")
    return fig


# -- sample files ---------------------------------------------------------------------------------


def _checked_samples(product: Product, path: PathLike) -> np.ndarray:
    """Check an ensemble file is the product its name says; return its ``index (N,)`` (the test cases)."""
    attrs = read_header(path).attrs
    expected = {"mode": product.mode, "variant": product.variant, "epoch": product.epoch}
    wrong = {key: attrs[key] for key, value in expected.items() if not _matches(key, attrs[key], value)}
    if wrong:
        raise InputError(path, f"holds {wrong}, but is passed as the samples of {product.name!r}")
    with open_hdf5(path) as handle:
        return handle["index"][()]


def _case(path: PathLike, case: int) -> tuple[np.ndarray, np.ndarray, int]:
    """The first member ``(H, W)``, the coarse input ``(h, w)`` and the time (s) of test case ``case``."""
    with open_hdf5(path) as handle:
        return handle["samples"][case, 0], handle["coarse"][case], int(handle["time"][case])


# -- the job --------------------------------------------------------------------------------------


def write_report(
    *,
    scores: Mapping[str, Mapping[str, PathLike]],
    samples: Mapping[str, Mapping[str, PathLike]],
    variants: Mapping[str, Mapping[str, Any]],
    metrics: Mapping[str, Mapping[str, PathLike]],
    seed_table_md: PathLike,
    scores_md: PathLike,
    scores_csv: PathLike,
    case_png: PathLike,
    distributions_png: PathLike,
    rapsd_png: PathLike,
    rank_png: PathLike,
    history: Mapping[str, Mapping[str, PathLike]] | None = None,
    comparisons: PathLike | None = None,
    dry_threshold_mm: float = 0.1,
) -> None:
    """Write the seed table, the scores table (markdown and the per-seed CSV) and the four figures.

    ``scores`` and ``samples`` map product names (module docstring) to ``{training seed: file}`` of
    score JSONs and ensemble files; ``samples`` needs every variant's latest-epoch prior and posterior
    products (the figures', drawn from each product's first seed). ``variants`` are the config entries
    (in table order), ``metrics`` and ``history`` each variant's ``{seed: metrics.json}`` and, optionally,
    ``{seed: history.csv}``; ``comparisons`` the experiment's ``comparisons.json`` (interval and verdict
    columns, the headline sentence). ``dry_threshold_mm`` should be the scoring's, so the figures count
    what the scores counted. Every input is read and every text and figure built before the first write,
    so a bad input (:class:`InputError`, ``ValueError``) leaves no new output.
    """
    products = {name: parse_product(name) for name in scores}
    if not products or not all(scores.values()):
        raise ValueError("no products to report, or a product without a seed")
    per_seed = {name: {seed: read_scores(path) for seed, path in by_seed.items()} for name, by_seed in scores.items()}
    flat, where = {}, {}
    for name, product in products.items():
        for seed, values in per_seed[name].items():
            _check_product(product, values, scores[name][seed])
            flat[f"{name} (seed {seed})"], where[f"{name} (seed {seed})"] = values, scores[name][seed]
    _check_same_truth(flat, where)
    _check_same_k(flat, where)
    used = list(dict.fromkeys(p.variant for p in products.values() if p.variant is not None))
    unknown = sorted(set(used) - set(variants) | set(used) - set(metrics))
    if unknown:
        raise ValueError(f"products of variants without a config entry or metrics.json: {unknown}")
    order = [name for name in variants if name in used]
    facts = {
        name: variant_facts(name, variants[name], [read_metrics(path) for path in metrics[name].values()])
        for name in order
    }
    if history is not None and set(order) - set(history):
        raise ValueError(f"variants without a history.csv: {sorted(set(order) - set(history))}")
    histories = (
        None if history is None else {name: [read_history(path) for path in history[name].values()] for name in order}
    )
    record = None if comparisons is None else read_comparisons(comparisons)

    rows = _score_rows(per_seed, order)
    seed_text = seed_table_markdown({row.name: row.scores for row in rows}, facts, histories)
    scores_text = scores_markdown(per_seed, order, record)
    long = seed_frame(per_seed, order)

    first = {name: next(iter(by_seed.values())) for name, by_seed in per_seed.items()}
    first_samples = {name: next(iter(by_seed.values())) for name, by_seed in samples.items() if by_seed}
    in_order = sorted(products.values(), key=lambda p: _sort_key(p, order))
    epochs = latest_epochs(in_order)
    latest = [p for p in in_order if p.variant is not None and p.epoch == epochs[p.variant]]
    drawn = {(p.variant, p.mode): p for p in latest if p.mode in SAMPLED_MODES}
    missing = sorted(p.name for p in drawn.values() if p.name not in first_samples)
    if missing:
        raise ValueError(f"the figures need the ensemble files of {missing}")
    first_rows = ordered([Row(p.name, p.kind, first[p.name]) for p in in_order], KINDS)
    figures = _figures(first, first_samples, order, epochs, latest, drawn, first_rows, dry_threshold_mm)

    write_text(scores_csv, long.to_csv(index=False))
    write_text(scores_md, scores_text)
    write_text(seed_table_md, seed_text)
    for path, figure in zip((case_png, distributions_png, rapsd_png, rank_png), figures, strict=True):
        save_figure(figure, path)


def _figures(
    values: Mapping[str, Mapping[str, Any]],
    samples: Mapping[str, PathLike],
    order: Sequence[str],
    epochs: Mapping[str, int],
    latest: Sequence[Product],
    drawn: Mapping[tuple[str, str], Product],
    rows: Sequence[Row],
    dry_mm: float,
) -> tuple[Figure, Figure, Figure, Figure]:
    """The extreme case, distribution, RAPSD and rank figures of each product's first training seed
    (inputs as :func:`write_report` prepared them)."""
    indices = {p.name: _checked_samples(p, samples[p.name]) for p in drawn.values()}
    first = next(iter(indices), None)
    for name, index in indices.items():
        if not np.array_equal(index, indices[first]):
            raise InputError(samples[name], f"holds other test cases than the samples of {first!r}")
    floor = dry_mm if dry_mm > 0 else _FLOOR_MM
    baselines = [row for row in rows if row.kind in ("baseline", "oracle")]
    by_name = {row.name: row for row in rows}
    variants = [v for v in order if v in epochs]

    # the extreme case: one member of every drawn product, on the case with the largest truth max
    members: dict[str, dict[str, np.ndarray | None]] = {v: dict.fromkeys(("posterior", "prior")) for v in variants}
    if drawn:
        reference = samples[next(iter(drawn.values())).name]
        truth = read_truth(reference)
        case = extreme_case_index(truth)
        _, coarse, time_s = _case(reference, case)
        for (variant, mode), product in drawn.items():
            members[variant][mode] = _case(samples[product.name], case)[0]
        date = datetime.fromtimestamp(time_s, tz=UTC).strftime("%Y-%m-%d")
        title = f"test day {date}: largest truth maximum\nof the {len(truth)} test days (first member shown)"
        case_fig = case_figure(coarse, truth[case], members, epochs=epochs, title=title, vmin_mm=floor)
    else:
        case_fig, axes = panel_grid(1)
        _ax_text(axes[0, 0], "no prior or posterior samples")

    # value distributions, pooled over test cases and members
    top = max(
        [float(next(iter(values.values()))["truth_max_mm"])]
        + [as_float(values[p.name].get("samples_max_mm")) for p in drawn.values()]
    )
    edges = distribution_edges(floor, top)
    curves: dict[str, dict[str, tuple[np.ndarray, float]]] = {v: {} for v in variants}
    for (variant, mode), product in drawn.items():  # in table order: each panel's legend reads truth, prior, posterior
        truth_counts, n_truth, counts, n = _histograms(samples[product.name], edges, dry_mm)
        curves[variant].setdefault("truth", (exceedance(truth_counts, n_truth), values[product.name]["truth_max_mm"]))
        curves[variant][mode] = (exceedance(counts, n), values[product.name]["samples_max_mm"])
    distributions_fig = distributions_figure(curves, edges, epochs=epochs)

    panels = {v: [by_name[p.name] for p in latest if p.variant == v] + baselines for v in variants}
    rapsd_fig = rapsd_figure(panels, epochs=epochs)
    ensembles = [by_name[p.name] for p in drawn.values()] + baselines
    rank_fig = rank_figure([row for row in ensembles if row.scores.get("rank_histogram")])
    return case_fig, distributions_fig, rapsd_fig, rank_fig
