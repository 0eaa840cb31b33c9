"""The ``oracle`` row of riskseg: the synthetic scene's Bayes-optimal class probabilities as a product.

:func:`write_oracle` regenerates the scene from the same ``riskseg.synthetic`` block and seed as
``riskseg_scene`` (:func:`atmo.riskseg.synthetic.scene.make_scene`), checks that its labels are the ones on
disk (so the oracle belongs to the scene being scored), and writes the posterior probabilities of
:func:`atmo.riskseg.synthetic.latent_risk.oracle_probabilities` as a probability raster
(:mod:`atmo.riskseg.probability_raster`). From there it is a product like any other: its decision
rule is chosen on its validation blocks by the same setting and code as every product's, and it is
scored on the test blocks by the same code; its rows are of kind ``oracle``, shown last and never
compared. Real scenes have no generator, hence no oracle.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import numpy as np

from atmo.errors import InputError
from atmo.io.atomic import write_json
from atmo.io.geotiff import inspect_geotiff, read_geotiff
from atmo.riskseg.probability_raster import write_probabilities
from atmo.riskseg.synthetic.latent_risk import oracle_probabilities
from atmo.riskseg.synthetic.scene import SyntheticSceneSettings, make_scene
from atmo.settings import settings_block

log = logging.getLogger(__name__)


class OracleSettings(settings_block("riskseg", "oracle")):
    """The ``riskseg.oracle`` block: Monte Carlo draws of the unobservable field."""


def write_oracle(
    scene_path: str | os.PathLike[str],
    labels_path: str | os.PathLike[str],
    synthetic: SyntheticSceneSettings,
    seed: int,
    settings: OracleSettings,
    probabilities_path: str | os.PathLike[str],
    record_path: str | os.PathLike[str],
) -> dict[str, Any]:
    """Write the oracle's probability raster and a JSON record (draws, the generator's constants, seconds)."""
    scene_info = inspect_geotiff(scene_path)
    scene = make_scene(synthetic, seed)
    if not np.array_equal(read_geotiff(labels_path)[0], scene.label):
        raise InputError(labels_path, f"is not the synthetic scene of riskseg.synthetic with seed {seed}")
    started = time.perf_counter()
    probabilities = oracle_probabilities(scene, synthetic, seed, settings.draws)
    seconds = time.perf_counter() - started
    write_probabilities(probabilities_path, probabilities, scene_info, {"oracle_draws": str(settings.draws)})
    record = {
        "draws": settings.draws,
        "max_standard_error": 0.5 / np.sqrt(settings.draws),
        "high_threshold": scene.high_threshold,
        "runout_px": scene.runout_px,
        "hidden_weight": synthetic.hidden_weight,
        "context_px": synthetic.context_px,
        "seconds": seconds,
    }
    write_json(record_path, record)
    log.info("oracle: %d draws in %.1f s", settings.draws, seconds)
    return record
