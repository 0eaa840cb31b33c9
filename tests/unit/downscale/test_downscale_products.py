"""downscale's product names: what the report parses back out of a name, and every product a run scores with
the run (path stem) of each training seed, as the rules name the files."""

from __future__ import annotations

import pytest

from atmo.downscale.products import Product, parse_product, product_name, scored_runs


def test_product_names_parse() -> None:
    assert parse_product("v3/epoch110_prior") == Product("v3/epoch110_prior", "prior", "v3", 110)
    assert parse_product("mid_2/epoch5_posterior_mean") == Product(
        "mid_2/epoch5_posterior_mean", "posterior_mean", "mid_2", 5
    )
    assert parse_product("v2/epoch38_posterior").kind == "reference"
    assert parse_product("v2/epoch38_prior").kind == "model"
    assert parse_product("baseline/bicubic_noise") == Product("baseline/bicubic_noise", "bicubic_noise")
    assert parse_product("baseline/bicubic").kind == "baseline"
    assert parse_product("baseline/rainfarm").kind == "baseline"
    assert parse_product("oracle/generator") == Product("oracle/generator", "oracle")
    assert parse_product("oracle/generator").kind == "oracle"
    for bad in ("v3/epoch110_prio", "v3/110_prior", "baseline/nearest", "V3/epoch1_prior", "baseline/oracle"):
        with pytest.raises(ValueError, match="product name"):
            parse_product(bad)


def test_a_built_name_parses_back_to_its_variant_epoch_and_mode() -> None:
    assert parse_product(product_name("v2_first_two", 40, "posterior")) == Product(
        "v2_first_two/epoch40_posterior", "posterior", "v2_first_two", 40
    )


BLOCK = {
    "source": "synthetic",
    "variants": {"v1": {"seeds": [0, 1]}, "v2": {"seeds": [3]}},
    "sampling": {"epochs": [10, 20], "modes": ["prior"], "seed": 7},
}


def test_every_variant_is_scored_at_every_sampled_epoch_and_its_posterior_mean_at_the_last() -> None:
    runs = scored_runs(BLOCK)
    assert list(runs) == [
        "v1/epoch10_prior",
        "v1/epoch20_prior",
        "v1/epoch20_posterior_mean",
        "v2/epoch10_prior",
        "v2/epoch20_prior",
        "v2/epoch20_posterior_mean",
        "baseline/bicubic",
        "baseline/bicubic_noise",
        "baseline/rainfarm",
        "oracle/generator",
    ]
    assert runs["v1/epoch20_prior"] == {"0": "v1/seed0/epoch20_prior", "1": "v1/seed1/epoch20_prior"}
    assert runs["baseline/rainfarm"] == {"7": "baseline/rainfarm"}, "fitted once, under sampling.seed"
    assert "oracle/generator" not in scored_runs({**BLOCK, "source": "local"})
