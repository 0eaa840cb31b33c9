"""The Bayes-optimal class probabilities of the synthetic risk scene: what its covariates allow.

The labels of :mod:`atmo.riskseg.synthetic.scene` are a function of the covariates (through the
neighbourhood risk ``R`` and the runout factor ``m``), the two fitted constants ``t_high`` and
``w0``, and one unobservable field ``h``, drawn independently of every covariate. Given everything
the generator draws except ``h``, the posterior class probabilities of a pixel are therefore the
prior expectation over ``h``::

    P(y(x) = k | covariates) = E_h[ 1{ classify(R + hidden_weight * h, t_high, m, w0)(x) = k } ]

No closed form exists for class 1 (it depends on the distance to the nearest high pixel, a
function of the whole field), so :func:`oracle_probabilities` estimates it by Monte Carlo:
``draws`` independent fields from ``h``'s prior (the same Gaussian random field, a separate random
stream), each classified exactly as the scene was, and the class frequencies per pixel. A
probability's standard error is at most ``0.5 / sqrt(draws)``. ``t_high`` and ``w0`` stay those of
the scene (they are the generator's constants, fixed quantiles of a field that covers the whole
scene).

These are the exact posteriors (up to the Monte Carlo error), so under argmax they give the
highest expected accuracy and under the ordinal median the lowest expected absolute class error any
model of the covariates can reach. Kappa and class-1 precision are not per-pixel losses, so the
oracle's scores under the run's decision rule are the reference a product is read against, not a
hard bound on a finite set of test blocks.
"""

from __future__ import annotations

import logging

import numpy as np

from atmo.riskseg.synthetic.scene import SyntheticScene, SyntheticSceneSettings, classify, smooth_field

log = logging.getLogger(__name__)

#: Second seed word of the oracle's random stream (the scene uses ``default_rng(seed)`` alone).
ORACLE_STREAM = 2


def oracle_probabilities(scene: SyntheticScene, settings: SyntheticSceneSettings, seed: int, draws: int) -> np.ndarray:
    """``(3, H, W)`` float32 P(low, medium, high | covariates) by ``draws`` fields of ``h``; NaN where invalid."""
    if draws < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    rng = np.random.default_rng([seed, ORACLE_STREAM])
    counts = np.zeros((3, *scene.label.shape), dtype=np.uint32)
    for _ in range(draws):
        hidden = smooth_field(rng, scene.label.shape, settings.correlation_px)
        latent = scene.risk + settings.hidden_weight * hidden
        label = classify(latent, scene.valid, scene.high_threshold, scene.runout, scene.runout_px)
        for k in range(3):
            counts[k] += label == k
    probabilities = (counts / draws).astype(np.float32)
    probabilities[:, ~scene.valid] = np.nan
    log.info("oracle: %d draws of the hidden field", draws)
    return probabilities
