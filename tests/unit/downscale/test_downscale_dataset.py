"""Training items: log1p coarse precipitation, predictors standardised with training statistics only."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from downscale_helpers import tiny_fields_file

from atmo.downscale.dataset import CoarseNormaliser, DownscaleDataset
from atmo.downscale.field_files import read_fields, read_split


@pytest.fixture(scope="module")
def fields_and_split(tmp_path_factory: pytest.TempPathFactory):
    path = tiny_fields_file(tmp_path_factory.mktemp("dataset") / "fields.h5")
    return read_fields(path), read_split(path)


def test_items_have_the_documented_shapes_units_and_normalisation(fields_and_split) -> None:
    fields, split = fields_and_split
    normaliser = CoarseNormaliser.fit(fields, split.train)
    train = DownscaleDataset(fields, split.train, normaliser)
    item = train[2]
    assert item["coarse"].shape == (7, 4, 4) and item["fine_mm"].shape == (16, 16)
    assert item["index"] == split.train[2]
    np.testing.assert_allclose(item["coarse"][0].numpy(), np.log1p(fields.precip_lr_mm[split.train[2]]), rtol=1e-6)
    np.testing.assert_array_equal(item["fine_mm"].numpy(), fields.precip_hr_mm[split.train[2]])
    standardised = train.coarse[:, 1:]
    np.testing.assert_allclose(standardised.mean(axis=(0, 2, 3)), 0.0, atol=1e-5)
    np.testing.assert_allclose(standardised.std(axis=(0, 2, 3)), 1.0, rtol=1e-4)


def test_statistics_ignore_the_validation_and_test_periods(fields_and_split) -> None:
    fields, split = fields_and_split
    held_out = np.concatenate([split.val, split.test])
    shifted = fields.predictors_lr.copy()
    shifted[held_out] += 1000.0
    before = CoarseNormaliser.fit(fields, split.train)
    after = CoarseNormaliser.fit(replace(fields, predictors_lr=shifted), split.train)
    assert before == after
    assert CoarseNormaliser.from_dict(after.to_dict()) == after


def test_a_constant_predictor_keeps_unit_scale(fields_and_split) -> None:
    fields, split = fields_and_split
    constant = fields.predictors_lr.copy()
    constant[:, 0] = 5.0
    normaliser = CoarseNormaliser.fit(replace(fields, predictors_lr=constant), split.train)
    assert normaliser.std[0] == 1.0
    assert np.isfinite(normaliser.transform(fields.precip_lr_mm[:2], constant[:2])).all()


def test_fields_of_other_predictors_are_refused(fields_and_split, tmp_path: Path) -> None:
    fields, split = fields_and_split
    normaliser = CoarseNormaliser.fit(fields, split.train)
    renamed = replace(fields, predictor_names=("a", "b", "c", "d", "e", "f"))
    with pytest.raises(ValueError, match="fitted on"):
        DownscaleDataset(renamed, split.val, normaliser)
