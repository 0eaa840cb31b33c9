"""The riskseg experiment's synthetic generator: writes the real on-disk format, never imports an estimator."""
