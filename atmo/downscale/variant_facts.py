"""What the downscale report says of each variant: its decoder's architecture in the write-up's words, its
loss settings and its latent activity after training (:class:`VariantFacts`)."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from atmo.downscale.losses import TailLossSettings
from atmo.downscale.models import ConditionalVAE, _inject_indices
from atmo.errors import ConfigError
from atmo.settings import build_block

_NUMBER_WORDS = {2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


def _defaults(callable_: Callable[..., Any]) -> dict[str, Any]:
    """The keyword defaults of a constructor: the values a config entry gets for a key it omits."""
    parameters = inspect.signature(callable_).parameters.values()
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty}


# From the constructor itself, so the table names what a job that omits a key really trained.
CVAE_DEFAULTS = _defaults(ConditionalVAE)


def architecture(params: Mapping[str, Any]) -> str:
    """The write-up's name for a decoder's spatial injection, from ``inject_blocks`` and ``n_blocks``.

    ``[]`` -> "no spatial injection" (V1), all blocks -> "coarse field at every decoder block" (V2),
    ``[0]`` -> "first block only" (V3), ``[0, 1]`` -> "first two blocks" (the write-up's option 3), other
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
    """What the layout table says of a variant: its configuration and its latent activity after training."""

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
    params = spec.get("params") or {}
    loss = build_block(TailLossSettings, spec.get("loss"), f"downscale.variants.{name}.loss")  # what training used
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
        beta_kl=loss.beta_kl,
        w_max=loss.w_max,
        tail_boost=loss.tail_boost,
        latent_dim=int(latent_dim),
        active_units_kl=float(np.mean([run["latent_active_units_kl"] for run in runs])),
        active_units_burda=float(np.mean([run["latent_active_units_burda"] for run in runs])),
        exported_epochs=tuple(None if e is None else int(e) for e in exported),
    )
