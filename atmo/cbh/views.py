"""Which part of each cached frame the MAE encoder sees, and how it is cut into patch tokens.

The write-up's encoder saw one vertical slice of each frame (channel 0, the middle column, 440 px) cut
into 16-px patches: the vertical structure of the cloud field, not its texture across the track.
:class:`ViewSettings` (config block ``cbh.view``) keeps that as the default and adds two wider views:

==========  ===========================================================  =========================
``kind``    what the encoder sees                                         tokens ``T``
==========  ===========================================================  =========================
column      one 1-px-wide vertical slice at ``column_position`` of the    ``H' // patch_height``
            width (0.5: the middle column ``W // 2``, as in the write-up)
columns     ``n_columns`` slices at the centres of equal vertical strips  ``n_columns * H' // patch_height``
grid        the whole frame as a 2-D grid of patches                      ``(H' // ph) * (W' // pw)``
==========  ===========================================================  =========================

``H'`` is the frame height cropped DOWN, centred, to a multiple of ``patch_height`` (the write-up's
440-px slices with 16-px patches become 432 px = 27 tokens; 4 rows are dropped at the top and 4 at
the bottom); for ``grid`` the width is cropped the same way to a multiple of ``patch_width``. Slices
are 1 px wide, so ``patch_width`` matters only for ``grid``. ``channels: first`` keeps channel 0
(the write-up), ``all`` keeps every channel (``C'`` below).

A patch token is one ``(C', patch_height, patch_width_eff)`` block flattened channel-major, so
``P = C' * patch_height * patch_width_eff`` (``patch_width_eff`` = 1 for slices); tokens run
row-major over the patch grid (for ``columns``: top row of every column first).
"""

from __future__ import annotations

import numpy as np
import torch

from atmo.settings import settings_block


class ViewSettings(settings_block("cbh", "mae.encoders.*.view")):
    """An encoder's ``view`` block (``cbh.mae.encoders.<name>.view``): what it sees of a frame (see above)."""

    @property
    def token_width(self) -> int:
        """Width of one patch in pixels: ``patch_width`` for ``grid``, 1 for the slices."""
        return self.patch_width if self.kind == "grid" else 1


def view_shape(view: ViewSettings, image_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(C', H', W')`` of the view of frames of shape ``(C, H, W)`` (a leading ``N`` is ignored).

    Raises ``ValueError`` when a frame is too small for one patch (or for ``n_columns`` slices).
    """
    channels, height, width = (int(s) for s in image_shape[-3:])
    if height < view.patch_height:
        raise ValueError(f"patch_height: {view.patch_height} px exceeds the frame height {height} px")
    out_channels = 1 if view.channels == "first" else channels
    out_height = height // view.patch_height * view.patch_height
    if view.kind == "column":
        return out_channels, out_height, 1
    if view.kind == "columns":
        if view.n_columns > width:
            raise ValueError(f"n_columns: {view.n_columns} slices exceed the frame width {width} px")
        return out_channels, out_height, view.n_columns
    if width < view.patch_width:
        raise ValueError(f"patch_width: {view.patch_width} px exceeds the frame width {width} px")
    return out_channels, out_height, width // view.patch_width * view.patch_width


def n_tokens(view: ViewSettings, image_shape: tuple[int, ...]) -> int:
    """Number of patch tokens ``T`` of one frame of shape ``(C, H, W)``."""
    _, height, width = view_shape(view, image_shape)
    return (height // view.patch_height) * (width // view.token_width)


def patch_dim(view: ViewSettings, image_shape: tuple[int, ...]) -> int:
    """Values per patch token ``P = C' * patch_height * patch_width_eff``."""
    return view_shape(view, image_shape)[0] * view.patch_height * view.token_width


def view_params(view: ViewSettings, image_shape: tuple[int, ...]) -> dict[str, int]:
    """The encoder keywords the data fixes: ``{"in_channels", "n_tokens", "patch_dim"}``."""
    return {
        "in_channels": view_shape(view, image_shape)[0],
        "n_tokens": n_tokens(view, image_shape),
        "patch_dim": patch_dim(view, image_shape),
    }


def column_indices(view: ViewSettings, width: int) -> list[int]:
    """The pixel columns a slice view keeps (``column``: one, ``columns``: ``n_columns``)."""
    if view.kind == "column":
        return [min(int(view.column_position * width), width - 1)]
    return [int((k + 0.5) * width / view.n_columns) for k in range(view.n_columns)]


def select_view(images: np.ndarray, view: ViewSettings) -> np.ndarray:
    """(N, C, H, W) frames -> (N, C', H', W') view pixels in the frames' dtype (no rescaling).

    The crop is centred: ``(H - H') // 2`` rows are dropped at the top, the rest at the bottom.
    """
    if images.ndim != 4:
        raise ValueError(f"expected frames (N, C, H, W), got shape {images.shape}")
    out_channels, out_height, out_width = view_shape(view, images.shape)
    height, width = images.shape[2:]
    top = (height - out_height) // 2
    rows = slice(top, top + out_height)
    if view.kind == "grid":
        left = (width - out_width) // 2
        selected = images[:, :out_channels, rows, left : left + out_width]
    else:
        selected = images[:, :out_channels, rows][..., column_indices(view, width)]
    return np.ascontiguousarray(selected)


def extract_view(images: np.ndarray, view: ViewSettings) -> np.ndarray:
    """uint8 frames (N, C, H, W) -> float32 view (N, C', H', W') in [0, 1] (pixel / 255).

    H (and, for ``grid``, W) is cropped DOWN, centred, to a multiple of the patch size: 440 px with
    16-px patches -> 432 px, 27 tokens. See :func:`select_view`.
    """
    if images.dtype != np.uint8:
        raise ValueError(f"expected uint8 frames, got {images.dtype}")
    return select_view(images, view).astype(np.float32) / np.float32(255.0)


def patchify(x: torch.Tensor, view: ViewSettings) -> torch.Tensor:
    """View (N, C', H', W') -> patch tokens (N, T, P), channel-major within a patch, tokens row-major."""
    n, channels, height, width = x.shape
    ph, pw = view.patch_height, view.token_width
    if height % ph or width % pw:
        raise ValueError(f"view of {height} x {width} px is not a whole number of {ph} x {pw} patches")
    grid = x.reshape(n, channels, height // ph, ph, width // pw, pw).permute(0, 2, 4, 1, 3, 5)
    return grid.reshape(n, (height // ph) * (width // pw), channels * ph * pw)


def unpatchify(patches: torch.Tensor, view: ViewSettings, shape: tuple[int, int, int]) -> torch.Tensor:
    """Patch tokens (N, T, P) -> view (N, C', H', W'), the inverse of :func:`patchify`.

    ``shape`` is the view's ``(C', H', W')`` (:func:`view_shape`).
    """
    channels, height, width = shape
    ph, pw = view.patch_height, view.token_width
    rows, cols = height // ph, width // pw
    n, tokens, dim = patches.shape
    if (tokens, dim) != (rows * cols, channels * ph * pw):
        raise ValueError(f"patches of shape {tuple(patches.shape)} do not tile a view of shape {shape}")
    grid = patches.reshape(n, rows, cols, channels, ph, pw).permute(0, 3, 1, 4, 2, 5)
    return grid.reshape(n, channels, height, width)
