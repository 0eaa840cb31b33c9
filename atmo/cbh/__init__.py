"""Cloud-base height (CBH) experiment: airborne camera frames + ERA5 context -> lidar base height.

Data stage: :mod:`atmo.cbh.geometry` (WP-1 shadow-geometry features) and :mod:`atmo.cbh.cache`
(every flight's frames, labels and tabular features read once into one HDF5 cache). File formats
live in :mod:`atmo.io.cbh` and :mod:`atmo.io.era5`, synthetic data in :mod:`atmo.synth.cbh`.
"""
