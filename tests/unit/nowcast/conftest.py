"""Fixtures of the nowcast tests: a small synthetic SEVIR tree on disk, torch on one thread."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from sevir_helpers import write_sevir_tree


@pytest.fixture(scope="session")
def pristine_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A read-only-by-convention SEVIR tree shared by the whole session (generated once)."""
    root = tmp_path_factory.mktemp("sevir_pristine")
    write_sevir_tree(root)
    return root


@pytest.fixture
def sevir_tree(pristine_tree: Path, tmp_path: Path) -> Path:
    """A private copy of the small SEVIR tree that a test may damage."""
    return Path(shutil.copytree(pristine_tree, tmp_path / "sevir"))


@pytest.fixture(scope="module")
def one_torch_thread() -> Iterator[None]:
    """The machine is shared: torch on one thread for a whole module, so module-scoped fixtures use it too.

    Request it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
