"""riskseg's product names: every name a builder makes parses back to what built it, and the settings the
comparisons and the report read are built from the config block in one place."""

from __future__ import annotations

import pytest

from atmo.riskseg.products import (
    CRF,
    ENSEMBLE,
    FIXED_DECISION,
    REFERENCE,
    SEED,
    SINGLE,
    Product,
    ensemble_entry,
    entry_settings,
    final_entry,
    fixed_decision_entry,
    parse_product,
    report_context,
    seed_product,
    single_entry,
)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (seed_product("v25", 42, "tta"), Product("v25/seed42_tta", SEED, "v25", seed="42", mode="tta")),
        (single_entry("v2", "plain"), Product("v2/single_plain", SINGLE, "v2", mode="plain")),
        (ensemble_entry("v25"), Product("v25/ensemble", ENSEMBLE, "v25")),
        (
            fixed_decision_entry("v25", "argmax"),
            Product("v25/ensemble_argmax", FIXED_DECISION, "v25", setting="argmax"),
        ),
        # a CRF entry whose name holds the separator of the other names still comes back whole
        (final_entry("v25", "v25_ordinal"), Product("v25/crf_v25_ordinal", CRF, "v25", setting="v25_ordinal")),
        ("pixel_logistic", Product("pixel_logistic", REFERENCE)),
    ],
)
def test_every_built_name_parses_back_to_its_parts(name: str, expected: Product) -> None:
    assert parse_product(name) == expected


@pytest.mark.parametrize("name", ["v25/seed42", "v25/seedx_plain", "v25/crf_", "v25/probabilities"])
def test_a_name_no_builder_makes_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="riskseg product name"):
        parse_product(name)


BLOCK = {
    "source": "synthetic",
    "inference": {"tta": True},
    "crf": {"v2": {"compat": "potts"}, "v25_ordinal": {"compat": "ordinal"}},
    "baselines": {"pixel_logistic": {"method": "logistic"}},
    "variants": {
        "v25": {"crf": "v25_ordinal", "head": "coral", "seeds": [1, 2]},
        "v2": {"crf": "v2", "head": "softmax", "seeds": [1]},
    },
    "comparison": {"full": "v25", "v2": "v2"},
}


def test_the_report_context_is_the_entry_settings_and_the_words_of_the_report() -> None:
    settings = entry_settings(BLOCK)
    assert settings == {
        "full": "v25",
        "v2": "v2",
        "crf_ablation": None,
        "ablations": {},
        "mode": "tta",
        "other_mode": "plain",
        "crf": {"v25": "v25_ordinal", "v2": "v2"},
        "seeds": {"v25": [1, 2], "v2": [1]},
        "references": {"pixel_logistic": "baseline", "oracle": "oracle"},
    }
    context = report_context(BLOCK)
    assert {key: context[key] for key in settings} == settings
    assert context["head"] == {"v25": "coral", "v2": "softmax"}
    assert context["crf_compat"] == {"v2": "potts", "v25_ordinal": "ordinal"}
    assert "oracle" not in entry_settings({**BLOCK, "source": "local"})["references"]
