"""Cloud-base height (CBH) experiment: airborne camera frames + ERA5 context -> lidar base height.

Data stage: :mod:`atmo.cbh.geometry` (shadow-geometry features) and :mod:`atmo.cbh.cache`
(every flight's frames, labels and tabular features read once into one HDF5 cache). File formats
live in :mod:`atmo.cbh.flight_files` and :mod:`atmo.cbh.era5_files`, synthetic data in
:mod:`atmo.cbh.synthetic`.

Models, all leave-one-flight-out (:mod:`atmo.cbh.folds`: one fold per flight, validation from the
training flights only):

- reference baselines (:mod:`atmo.cbh.baselines`: climatology, LCL, shadow geometry raw and
  calibrated), ridge (:mod:`atmo.cbh.ridge`) and gradient-boosted trees (:mod:`atmo.cbh.gbdt`), run per fold by
  :mod:`atmo.cbh.lofo`; with synthetic data the oracle row (:mod:`atmo.cbh.oracle`);
- the networks: an MAE encoder (:mod:`atmo.cbh.mae`) pretrained on a view of each frame
  (:mod:`atmo.cbh.views`), frozen inside a regression head with or without the physical features
  (:mod:`atmo.cbh.models`, preprocessed by :mod:`atmo.cbh.features`), trained with a Huber loss
  (:mod:`atmo.cbh.losses`) on in-memory datasets (:mod:`atmo.cbh.dataset`) through the shared
  training path (:mod:`atmo.cbh.training`), once per seed of the entry (:mod:`atmo.cbh.approaches`);
- every approach writes test-flight predictions (:mod:`atmo.cbh.predictions`); their per-sample
  errors, grouped by test flight, feed the paired comparisons (:mod:`atmo.cbh.comparison`), and
  :mod:`atmo.cbh.results` builds the write-up-format reports, the tables (scores over all flights from
  :mod:`atmo.cbh.scores`) and the figures.
"""
