"""The downscale report job: the write-up's layout table, the ensemble scores table and four figures.

Everything is read from what earlier jobs wrote: one flat score JSON per product and training seed
(:func:`atmo.downscale.scoring.score_samples`, held-out test days only), the ensemble files behind
them (:mod:`atmo.downscale.sample_files`, for the two figures that need fields), each variant's config
entry and each seed's ``metrics.json`` (:func:`atmo.downscale.training.train_variant`), and the
experiment's ``comparisons.json`` (:mod:`atmo.downscale.comparison`: paired intervals over test
days and the verdicts). Nothing is scored again, so the report reruns in seconds.

The keys of ``scores`` and ``samples`` are product names (:mod:`atmo.downscale.products`, which also
gives each product's row kind): ``model`` is the prior mode, the actual downscaling from the coarse
input alone; ``reference`` is the posterior mode and the posterior mean, which encode the *truth*
into z (the write-up's reconstruction mode) — an upper reference, not a downscaler; ``baseline`` is
the bicubic pair and RainFARM; ``oracle`` (last) is the synthetic generator's own ensemble, shown and
never compared. No row is picked as "best" here: which product of each variant is compared, and with
what, is fixed in the config (``downscale.comparison``), and every "beats" / "loses" comes from the
comparisons' intervals.

This module reads and checks the inputs (:mod:`atmo.downscale.report_inputs`), states each variant's
facts (:mod:`atmo.downscale.variant_facts`), builds every text (:mod:`atmo.downscale.tables`) and
figure (:mod:`atmo.downscale.figures`), then writes:

- the layout table: the write-up's "Results Summary" / "Comparison Table" layout, one row per
  (variant, epoch, prior/posterior) with the architecture named from ``inject_blocks``, beta-KL,
  w_max, max, mean, P95, diversity and the latent active units (means over the training seeds), and
  a ``real`` row for the test truth;
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

from collections.abc import Mapping, Sequence
from typing import Any

from atmo.downscale.figures import report_figures
from atmo.downscale.products import Product, parse_product, table_order
from atmo.downscale.report_inputs import (
    PathLike,
    check_product,
    check_same_k,
    check_same_truth,
    read_history,
    read_metrics,
    read_scores,
)
from atmo.downscale.tables import KINDS, SAMPLED_MODES, layout_table_markdown, score_rows, scores_markdown, seed_frame
from atmo.downscale.variant_facts import variant_facts
from atmo.io.atomic import write_text
from atmo.publish import Row, ordered, save_figure
from atmo.publish.comparisons import read_comparisons


def latest_epochs(products: Sequence[Product]) -> dict[str, int]:
    """Each variant's largest checkpoint epoch among ``products``, in first-seen order."""
    latest: dict[str, int] = {}
    for product in products:
        if product.variant is not None:
            latest[product.variant] = max(latest.get(product.variant, product.epoch), product.epoch)
    return latest


def write_report(
    *,
    scores: Mapping[str, Mapping[str, PathLike]],
    samples: Mapping[str, Mapping[str, PathLike]],
    variants: Mapping[str, Mapping[str, Any]],
    metrics: Mapping[str, Mapping[str, PathLike]],
    layout_table_md: PathLike,
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
    """Write the layout table, the scores table (markdown and the per-seed CSV) and the four figures.

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
            check_product(product, values, scores[name][seed])
            flat[f"{name} (seed {seed})"], where[f"{name} (seed {seed})"] = values, scores[name][seed]
    check_same_truth(flat, where)
    check_same_k(flat, where)
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

    rows = score_rows(per_seed, order)
    layout_text = layout_table_markdown({row.name: row.scores for row in rows}, facts, histories)
    scores_text = scores_markdown(per_seed, order, record)
    long = seed_frame(per_seed, order)

    first = {name: next(iter(by_seed.values())) for name, by_seed in per_seed.items()}
    first_samples = {name: next(iter(by_seed.values())) for name, by_seed in samples.items() if by_seed}
    in_order = sorted(products.values(), key=lambda p: table_order(p, order))
    epochs = latest_epochs(in_order)
    latest = [p for p in in_order if p.variant is not None and p.epoch == epochs[p.variant]]
    drawn = {(p.variant, p.mode): p for p in latest if p.mode in SAMPLED_MODES}
    missing = sorted(p.name for p in drawn.values() if p.name not in first_samples)
    if missing:
        raise ValueError(f"the figures need the ensemble files of {missing}")
    first_rows = ordered([Row(p.name, p.kind, first[p.name]) for p in in_order], KINDS)
    figures = report_figures(first, first_samples, order, epochs, latest, drawn, first_rows, dry_threshold_mm)

    write_text(scores_csv, long.to_csv(index=False))
    write_text(scores_md, scores_text)
    write_text(layout_table_md, layout_text)
    for path, figure in zip((case_png, distributions_png, rapsd_png, rank_png), figures, strict=True):
        save_figure(figure, path)
