"""From class probabilities to one class per pixel: argmax or the ordinal median.

``argmax`` picks the most probable class (what the seed does). For ordered classes it has a blind
spot: between a low and a high region a pixel can be (0.42, 0.25, 0.33) — uncertain between its
neighbours, with the medium class never the single most probable, so argmax never says "medium"
although medium is the class in the middle. ``median`` picks the median of the predictive
distribution, the smallest class ``c`` with ``P(y <= c) >= 0.5``; it minimises the expected
absolute class error and is what an ordinal (CORAL-style) threshold rule gives. Which rule a run
uses is ``riskseg.decision``; ensembles, CRF outputs and scores all use it.
"""

from __future__ import annotations

import numpy as np

from atmo.riskseg import LABEL_NODATA

DECISIONS = ("argmax", "median")


def decide(probs: np.ndarray, rule: str, valid: np.ndarray | None = None) -> np.ndarray:
    """Classes ``(h, w)`` uint8 of probabilities ``(3, h, w)``; ``LABEL_NODATA`` where not ``valid``."""
    if rule == "argmax":
        classes = probs.argmax(axis=0)
    elif rule == "median":
        classes = (np.cumsum(probs, axis=0)[:-1] < 0.5).sum(axis=0)
    else:
        raise ValueError(f"decision rule {rule!r} is not one of {list(DECISIONS)}")
    classes = classes.astype(np.uint8)
    return classes if valid is None else np.where(valid, classes, LABEL_NODATA).astype(np.uint8)
