"""The downscale experiment's synthetic generator: writes the real on-disk format never imports an estimator."""
