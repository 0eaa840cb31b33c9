"""Atmo: reproducible atmospheric and Earth-observation deep-learning experiments.

The library behind the Snakemake workflow. Nothing in here imports Snakemake, so every piece can
be unit-tested and reused from a notebook or another workflow engine.
"""

__version__ = "0.1.0"
