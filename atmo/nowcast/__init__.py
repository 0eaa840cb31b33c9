"""Nowcasting on SEVIR: event split, training cache, dataset (data stage) and the models.

Data stage: :mod:`atmo.nowcast.source` (catalog and data files from the synthetic generator,
the public S3 bucket or a local copy), :mod:`atmo.nowcast.split`, :mod:`atmo.nowcast.cache`,
:mod:`atmo.nowcast.dataset`.
"""
