"""cbh's product names: the write-up's report file names, and the pooled R² key the pooled job writes and the
report reads back."""

from __future__ import annotations

from atmo.cbh.products import pooled_r2_approach, pooled_r2_key, report_file_name


def test_report_file_names() -> None:
    assert report_file_name("attention", "model") == "WP4_Report_attention.json"
    assert report_file_name("gbdt", "baseline") == "WP3_Report_gbdt.json"
    assert report_file_name("geometry", "baseline") == "Baseline_Report_geometry.json"
    assert report_file_name("oracle", "oracle") == "Oracle_Report_oracle.json"


def test_a_pooled_r2_key_names_its_approach_and_no_other_fact_does() -> None:
    assert pooled_r2_approach(pooled_r2_key("geometry_calibrated")) == "geometry_calibrated"
    assert pooled_r2_approach("gbdt_pooled_folds") is None
    assert pooled_r2_approach("mae_pretraining") is None
