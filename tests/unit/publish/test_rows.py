"""Grouping a rule's flat per-(entry, seed) inputs back by entry and seed."""

from __future__ import annotations

import pytest

from atmo.publish import by_entry_and_seed


def test_flat_inputs_are_grouped_in_the_order_the_seeds_list_them() -> None:
    seeds = {"sgt": ["0", "1"], "optical_flow": ["0"]}
    grouped = by_entry_and_seed(seeds, ["sgt0.json", "sgt1.json", "of.json"])
    assert grouped == {"sgt": {"0": "sgt0.json", "1": "sgt1.json"}, "optical_flow": {"0": "of.json"}}


def test_a_path_list_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError):
        by_entry_and_seed({"sgt": ["0", "1"]}, ["sgt0.json"])
