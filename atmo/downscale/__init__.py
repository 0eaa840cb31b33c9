"""Precipitation downscaling with a conditional VAE: the library behind the downscale experiment.

The data format lives in :mod:`atmo.downscale.field_files`; this package holds what is done with it:

- :mod:`~atmo.downscale.split`: the time split (train, then val, then test, with gaps);
- :mod:`~atmo.downscale.coarsen`: the block mean that ties the coarse view to the fine field;
- :mod:`~atmo.downscale.describe`: the JSON summary of a fields file;
- :mod:`~atmo.downscale.dataset`: normalised coarse inputs and fine targets for training;
- :mod:`~atmo.downscale.models`: the conditional VAE (variants differ in where the coarse field
  enters the decoder) and its registry;
- :mod:`~atmo.downscale.likelihood`: the per-pixel distribution the decoder predicts and samples
  (Bernoulli-gamma, Bernoulli-lognormal, or the write-up's deterministic field);
- :mod:`~atmo.downscale.losses`: the tail-weighted negative ELBO, KL and active latent units;
- :mod:`~atmo.downscale.validation`: the validation step, with the CRPS of a small prior ensemble;
- :mod:`~atmo.downscale.training`: training a variant through :func:`atmo.train.train_job` and
  keeping the weights of every periodic epoch for the sampling jobs;
- :mod:`~atmo.downscale.sample_files`, :mod:`~atmo.downscale.sampling`, :mod:`~atmo.downscale.baselines`:
  ensembles of downscaled test fields (model samples, bicubic and noisy bicubic) in one HDF5 layout;
- :mod:`~atmo.downscale.scoring`: the scores of one ensemble file as a flat JSON-ready dict, and its
  per-test-day statistics (the units of the comparisons);
- :mod:`~atmo.downscale.comparison`: which product of each variant is compared, with what, over which units;
- :mod:`~atmo.downscale.products`: the product names the rules build and the report parses;
- :mod:`~atmo.downscale.results`: the report job: its inputs (:mod:`~atmo.downscale.report_inputs`), each
  variant's facts (:mod:`~atmo.downscale.variant_facts`), the tables (:mod:`~atmo.downscale.tables`: means
  over training seeds, intervals, verdicts) and figures (:mod:`~atmo.downscale.figures`).

Nothing is imported here, so that ``atmo.downscale.field_files`` (which needs the split and the block mean)
can import its submodules without loading torch.
"""
