"""build_model maps config names and blocks onto model classes."""

from __future__ import annotations

import pytest

from atmo.nowcast.models import MODELS, ConvLSTM, StormGraphTransformer, UNet2D, build_model


def test_names_map_to_classes() -> None:
    assert dict(MODELS) == {"sgt": StormGraphTransformer, "unet": UNet2D, "convlstm": ConvLSTM}
    model = build_model("sgt", frames_in=13, frames_out=12, use_gnn=False)
    assert isinstance(model, StormGraphTransformer) and model.gnn is None and model.frames_out == 12


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown nowcast architecture 'gan'; known: convlstm, sgt, unet"):
        build_model("gan")


def test_unknown_key_is_named() -> None:
    with pytest.raises(TypeError, match="hidden_size"):
        build_model("unet", hidden_size=3)


@pytest.mark.parametrize(("name", "kwargs"), [("sgt", {"stride": 3}), ("convlstm", {"stride": 6})])
def test_bad_stride_is_rejected(name: str, kwargs: dict) -> None:
    with pytest.raises(ValueError, match="power of two"):
        build_model(name, **kwargs)
