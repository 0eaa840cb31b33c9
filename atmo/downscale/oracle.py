"""The oracle ensemble of the synthetic downscale data: K draws from what the generator knows of each test day.

The generator (:func:`atmo.downscale.synthetic.fields.oracle_members`) keeps the day's large-scale drivers and
the part of its rain texture that the coarse grid resolves, draws the finer texture afresh for each
member and matches every member's block means to the coarse precipitation. No downscaler that sees
only the coarse data can know more, so the oracle's CRPS is the floor of the comparison: shown last
(kind ``oracle``), never compared or ranked. It exists for the synthetic source only.

The file is the layout of :mod:`atmo.downscale.sample_files` (method, variant and mode ``oracle``), written
only after the regenerated truth of every test day was found equal to the fields file's, so an
oracle of other generator settings than the data's cannot be written.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from atmo.downscale.field_files import read_fields, read_split
from atmo.downscale.sample_files import reference_samples_writer
from atmo.downscale.synthetic.fields import SyntheticDownscaleSettings, oracle_members
from atmo.errors import InputError

log = logging.getLogger(__name__)

ORACLE = "oracle"
# The regenerated truth equals the file's up to float32 storage (the same float64 arithmetic).
_TRUTH_ATOL_MM = 1e-3


def write_oracle(
    *,
    fields: str | os.PathLike[str],
    out_path: str | os.PathLike[str],
    settings: SyntheticDownscaleSettings,
    data_seed: int,
    k: int,
    seed: int,
) -> None:
    """Write ``k`` oracle members of every test case of ``fields`` (generated with ``data_seed`` and
    ``settings``) to ``out_path``; the fresh draws come from ``numpy.random.default_rng(seed)``.

    :class:`InputError` when ``fields`` is not the synthetic run of ``data_seed`` and ``settings``.
    """
    if k < 2:
        raise ValueError(f"the oracle ensemble needs k >= 2 members, got {k}")
    where = os.fspath(fields)
    data, split = read_fields(where), read_split(where)
    expected = f"atmo.downscale.synthetic.fields seed={data_seed}"
    if data.source != expected:
        raise InputError(where, f"source is {data.source!r}, not {expected!r}: the oracle needs the synthetic run")
    test = split.test
    draws = oracle_members(
        settings, seed=data_seed, days=test, coarse_mm=data.precip_lr_mm[test], k=k, rng=np.random.default_rng(seed)
    )
    with reference_samples_writer(out_path, data, test, name=ORACLE, k=k, seed=seed, fields=where) as writer:
        for row, (members, truth) in zip(test, draws, strict=True):
            if not np.allclose(truth, data.precip_hr_mm[row], rtol=0.0, atol=_TRUTH_ATOL_MM):
                raise InputError(where, f"sample {row} is not what the synthetic settings generate")
            writer.write(members[None], data.precip_hr_mm[row][None], data.precip_lr_mm[row][None])
    log.info("wrote the oracle's %d members of %d test cases to %s", k, len(test), out_path)
