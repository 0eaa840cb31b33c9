"""Physical features (ERA5 + shadow geometry) made ready for a network: median imputation, then scaling.

The geometry features are NaN where a frame shows no usable shadow; networks need numbers and
similar scales. :class:`FeaturePreprocessor` replaces a missing value by its column's median and
standardises, ``z = (x - mean) / scale``, with the median, mean and scale (population standard
deviation) of the imputed column, all from the rows it is fitted on. Fit it on the training rows
of a fold only: statistics of the test flight in the preprocessing are a leak like any other.

Degenerate columns stay usable: a column with no finite value in the fitted rows gets median 0
and scale 1 (it becomes a constant 0 and carries no information; logged), a constant column
scale 1. The fitted state is plain lists (:meth:`~FeaturePreprocessor.to_dict`), storable in
JSON and in a checkpoint loaded with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

log = logging.getLogger(__name__)


class FeaturePreprocessor:
    """Median imputation then standardisation of (N, F) features, fitted on training rows.

    ``names`` (optional, length F) only label the columns in logs and in the stored state.
    """

    def __init__(self, names: Sequence[str] | None = None) -> None:
        self.names = None if names is None else [str(name) for name in names]
        self.median: np.ndarray | None = None
        self.mean: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    @property
    def fitted(self) -> bool:
        return self.median is not None

    def fit(self, x: ArrayLike) -> FeaturePreprocessor:
        """Learn median, mean and scale per column from ``x`` (N, F), N >= 1; NaN is missing."""
        values = self._check(x, fitting=True)
        n_features = values.shape[1]
        finite = np.isfinite(values)
        empty = ~finite.any(axis=0)
        median = np.zeros(n_features)
        for column in np.flatnonzero(~empty):
            median[column] = float(np.median(values[finite[:, column], column]))
        for column in np.flatnonzero(empty):
            log.warning("feature %s has no finite value in the fitted rows: median 0, scale 1", self._label(column))
        imputed = np.where(finite, values, median)
        mean = imputed.mean(axis=0)
        std = imputed.std(axis=0)
        self.median, self.mean, self.scale = median, mean, np.where(std > 0, std, 1.0)
        return self

    def transform(self, x: ArrayLike) -> np.ndarray:
        """(N, F) float32: missing values imputed with the fitted medians, then standardised."""
        if not self.fitted:
            raise RuntimeError("FeaturePreprocessor.transform called before fit")
        values = self._check(x, fitting=False)
        imputed = np.where(np.isnan(values), self.median, values)
        return ((imputed - self.mean) / self.scale).astype(np.float32)

    def fit_transform(self, x: ArrayLike) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)

    def to_dict(self) -> dict[str, Any]:
        """The fitted state as plain Python lists and floats: ``names, median, mean, scale``."""
        if not self.fitted:
            raise RuntimeError("FeaturePreprocessor.to_dict called before fit")
        return {
            "names": None if self.names is None else list(self.names),
            "median": [float(v) for v in self.median],
            "mean": [float(v) for v in self.mean],
            "scale": [float(v) for v in self.scale],
        }

    @classmethod
    def from_dict(cls, state: Mapping[str, Any]) -> FeaturePreprocessor:
        """A fitted preprocessor from :meth:`to_dict`'s output; ``ValueError`` when it is malformed."""
        keys = {"names", "median", "mean", "scale"}
        if not isinstance(state, Mapping) or set(state) != keys:
            raise ValueError(f"a preprocessor state needs exactly the keys {sorted(keys)}, got {state!r}")
        arrays = {key: np.asarray(state[key], dtype=np.float64) for key in ("median", "mean", "scale")}
        shapes = {array.shape for array in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"median, mean and scale must be equal-length lists, got shapes {sorted(shapes)}")
        if not all(np.isfinite(array).all() for array in arrays.values()) or (arrays["scale"] <= 0).any():
            raise ValueError("median, mean and scale must be finite and scale > 0")
        names = state["names"]
        if names is not None and len(names) != len(arrays["median"]):
            raise ValueError(f"{len(names)} names for {len(arrays['median'])} features")
        out = cls(names)
        out.median, out.mean, out.scale = arrays["median"], arrays["mean"], arrays["scale"]
        return out

    def _check(self, x: ArrayLike, *, fitting: bool) -> np.ndarray:
        values = np.asarray(x, dtype=np.float64)
        if values.ndim != 2:
            raise ValueError(f"features must be (N, F), got shape {values.shape}")
        if fitting and values.shape[0] == 0:
            raise ValueError("cannot fit on zero rows")
        expected = None if self.names is None else len(self.names)
        if not fitting:
            expected = len(self.median)
        if expected is not None and values.shape[1] != expected:
            raise ValueError(f"expected {expected} feature columns, got {values.shape[1]}")
        if np.isinf(values).any():
            raise ValueError("features contain infinite values (only NaN marks a missing value)")
        return values

    def _label(self, column: int) -> str:
        return repr(self.names[column]) if self.names is not None else f"column {column}"
