"""The encoder's view of a frame: centred crops to whole patches, slices, grids, patch tokens."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from atmo.cbh.views import (
    ViewSettings,
    column_indices,
    extract_view,
    n_tokens,
    patch_dim,
    patchify,
    select_view,
    unpatchify,
    view_params,
    view_shape,
)
from atmo.errors import ConfigError
from atmo.settings import build_block


def _frames(n: int = 2, channels: int = 3, height: int = 440, width: int = 640) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (n, channels, height, width), dtype=np.uint8)


def test_views_seed_column_is_cropped_to_27_tokens_of_16_px() -> None:
    frames = _frames()
    view = ViewSettings()
    x = extract_view(frames, view)
    assert x.dtype == np.float32 and x.shape == (2, 1, 432, 1)
    np.testing.assert_array_equal(x, frames[:, :1, 4:436, 320:321].astype(np.float32) / 255)
    assert n_tokens(view, frames.shape) == 27 and patch_dim(view, frames.shape) == 16
    assert view_params(view, frames.shape[1:]) == {"in_channels": 1, "n_tokens": 27, "patch_dim": 16}
    patches = patchify(torch.from_numpy(x), view)
    assert patches.shape == (2, 27, 16)
    np.testing.assert_array_equal(patches[0, 0].numpy(), x[0, 0, :16, 0])  # first token = top 16 px
    np.testing.assert_array_equal(patches[1, 26].numpy(), x[1, 0, -16:, 0])


def test_views_column_position_and_all_channels() -> None:
    frames = _frames(height=40, width=10)
    view = ViewSettings(column_position=0.0, channels="all", patch_height=8)
    np.testing.assert_array_equal(select_view(frames, view), frames[..., :, :1])
    assert column_indices(ViewSettings(column_position=1.0), 10) == [9]
    patches = patchify(torch.from_numpy(extract_view(frames, view)), view)
    assert patches.shape == (2, 5, 3 * 8)  # channel-major: channel 0's 8 px first
    np.testing.assert_array_equal(patches[0, 1, :8].numpy(), frames[0, 0, 8:16, 0] / np.float32(255))


def test_views_columns_are_evenly_spaced_and_each_gives_a_stack_of_tokens() -> None:
    frames = _frames(height=50, width=64)
    view = ViewSettings(kind="columns", n_columns=4, patch_height=16)
    assert column_indices(view, 64) == [8, 24, 40, 56]
    assert column_indices(ViewSettings(kind="columns", n_columns=1), 640) == column_indices(ViewSettings(), 640)
    selected = select_view(frames, view)
    np.testing.assert_array_equal(selected, frames[:, :1, 1:49][..., [8, 24, 40, 56]])
    assert view_shape(view, frames.shape) == (1, 48, 4)
    assert n_tokens(view, frames.shape) == 4 * 3


def test_views_grid_crops_both_axes_centred() -> None:
    frames = _frames(height=440, width=650)
    view = ViewSettings(kind="grid", patch_height=16, patch_width=32, channels="all")
    x = extract_view(frames, view)
    assert x.shape == (2, 3, 432, 640)
    np.testing.assert_array_equal(x, frames[:, :, 4:436, 5:645] / np.float32(255))
    assert n_tokens(view, frames.shape) == 27 * 20 and patch_dim(view, frames.shape) == 3 * 16 * 32
    patches = patchify(torch.from_numpy(x), view)
    np.testing.assert_array_equal(patches[0, 1].numpy(), x[0, :, :16, 32:64].reshape(-1))  # row-major tokens


@pytest.mark.parametrize(
    "view",
    [
        ViewSettings(),
        ViewSettings(kind="columns", n_columns=3, channels="all"),
        ViewSettings(kind="grid", patch_height=8, patch_width=16, channels="all"),
    ],
    ids=["column", "columns", "grid"],
)
def test_views_patchify_unpatchify_round_trip(view: ViewSettings) -> None:
    frames = _frames(height=50, width=70)
    x = torch.from_numpy(extract_view(frames, view))
    patches = patchify(x, view)
    assert patches.shape == (2, n_tokens(view, frames.shape), patch_dim(view, frames.shape))
    torch.testing.assert_close(unpatchify(patches, view, view_shape(view, frames.shape)), x, rtol=0, atol=0)


def test_views_refuse_frames_smaller_than_a_patch_and_bad_settings() -> None:
    with pytest.raises(ValueError, match="patch_height"):
        view_shape(ViewSettings(patch_height=64), (3, 48, 64))
    with pytest.raises(ValueError, match="patch_width"):
        view_shape(ViewSettings(kind="grid", patch_width=128), (3, 48, 64))
    with pytest.raises(ValueError, match="uint8"):
        extract_view(_frames(height=16, width=4).astype(np.float32), ViewSettings())
    with pytest.raises(ConfigError, match=r"key 'cbh\.view\.kind': expected one of"):
        build_block(ViewSettings, {"kind": "patches"}, "cbh.view")
    with pytest.raises(ConfigError, match=r"column_position"):
        ViewSettings(column_position=1.5)
    assert build_block(ViewSettings, {"patch_height": 8}, "cbh.view") == ViewSettings(patch_height=8)
