"""downscale's product names, built and parsed here only, and the products a run scores.

The rules name every scored file after its product, the comparisons pick products by name, and
the report parses the names back into variant, epoch and mode: all of it goes through this module,
so an epoch never has to be read out of a file name by hand. Torch-free: the rules import it while
Snakemake parses the workflow.

Product names:

- ``<variant>/epoch<E>_<mode>``: a cVAE checkpoint's samples, ``<mode>`` one of :data:`MODES`
  (:func:`product_name`); each training seed's files are under the run
  ``<variant>/seed<S>/epoch<E>_<mode>`` (:func:`run_name`);
- ``baseline/<method>``, ``<method>`` one of :data:`BASELINES` (:func:`baseline_product`);
- :data:`ORACLE_PRODUCT`: the synthetic generator's own ensemble (the floor; real data have none).

A baseline or the oracle is fitted once: its run is its product name, under one seed label.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: How a checkpoint is sampled: z from the prior, z from the posterior given the truth, ``decode(mu)``.
MODES: tuple[str, ...] = ("prior", "posterior", "posterior_mean")
#: The deterministic reference every variant gets at its last sampled epoch, whatever ``sampling.modes`` lists.
POSTERIOR_MEAN = "posterior_mean"
#: The baseline methods (rule downscale_baseline's), in table order.
BASELINES: tuple[str, ...] = ("bicubic", "bicubic_noise", "rainfarm")
BASELINE_GROUP = "baseline"
#: The synthetic generator's own ensemble (rule downscale_oracle) and the ``mode`` its file holds.
ORACLE_PRODUCT, ORACLE_MODE = "oracle/generator", "oracle"

_SAMPLED = re.compile(r"(?P<variant>[a-z][a-z0-9_]*)/epoch(?P<epoch>[0-9]+)_(?P<mode>[a-z_]+)")


def product_name(variant: str, epoch: int, mode: str) -> str:
    """``v2/epoch30_prior``: the name of a variant's samples at checkpoint ``epoch`` in ``mode``."""
    return f"{variant}/epoch{epoch}_{mode}"


def run_name(variant: str, seed: int | str, epoch: int, mode: str) -> str:
    """``v2/seed0/epoch30_prior``: the path stem of one training seed's samples and scores of a product."""
    return f"{variant}/seed{seed}/epoch{epoch}_{mode}"


def baseline_product(method: str) -> str:
    """``baseline/rainfarm``: the name of a baseline's ensemble."""
    return f"{BASELINE_GROUP}/{method}"


#: Every baseline's product name, in table order.
BASELINE_PRODUCTS: tuple[str, ...] = tuple(baseline_product(method) for method in BASELINES)


@dataclass(frozen=True)
class Product:
    """One scored product, parsed from its name; ``variant`` and ``epoch`` are ``None`` for a baseline or the oracle."""

    name: str
    mode: str
    variant: str | None = None
    epoch: int | None = None

    @property
    def kind(self) -> str:
        """``model`` (prior: downscaling from the coarse input alone), ``reference`` (posterior, posterior
        mean: they encode the truth), ``baseline`` or ``oracle``."""
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
    if name == ORACLE_PRODUCT:
        return Product(name, ORACLE_MODE)
    match = _SAMPLED.fullmatch(name)
    if match is None or match["mode"] not in MODES:
        raise ValueError(
            f"product name {name!r} is neither '<variant>/epoch<E>_<mode>' with mode one of {list(MODES)} "
            f"nor one of {[*BASELINE_PRODUCTS, ORACLE_PRODUCT]}"
        )
    return Product(name, match["mode"], match["variant"], int(match["epoch"]))


def table_order(product: Product, variants: Sequence[str] = ()) -> tuple:
    """Sort key: variants in ``variants`` order (then by name), epochs ascending, modes in :data:`MODES` order,
    then the baselines in :data:`BASELINES` order and the oracle last."""
    if product.variant is None:
        return (1, 0, "", 0, BASELINES.index(product.mode) if product.mode in BASELINES else len(BASELINES))
    position = variants.index(product.variant) if product.variant in variants else len(variants)
    return (0, position, product.variant, product.epoch, MODES.index(product.mode))


def oracle_products(block: Mapping[str, Any]) -> list[str]:
    """:data:`ORACLE_PRODUCT` for the synthetic source (the generator is known), else none."""
    return [ORACLE_PRODUCT] if block["source"] == "synthetic" else []


def scored_runs(block: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """Every product a run scores: ``{product: {seed label: run}}``, from the ``downscale`` block.

    Each (variant, seed) is sampled at every epoch of ``sampling.epochs`` in every mode of
    ``sampling.modes``, plus its posterior mean at the last listed epoch; the baselines and the oracle
    (synthetic source only) have one seed label, ``sampling.seed``, which their draws use.
    """
    sampling = block["sampling"]
    epochs = list(sampling["epochs"])
    sampled = [(epoch, mode) for epoch in epochs for mode in sampling["modes"]] + [(epochs[-1], POSTERIOR_MEAN)]
    runs = {
        product_name(variant, epoch, mode): {str(seed): run_name(variant, seed, epoch, mode) for seed in spec["seeds"]}
        for variant, spec in block["variants"].items()
        for epoch, mode in sampled
    }
    fitted_once = str(sampling["seed"])
    for name in (*BASELINE_PRODUCTS, *oracle_products(block)):
        runs[name] = {fitted_once: name}
    return runs
