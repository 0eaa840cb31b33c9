"""Fixtures of the nowcast data-stage tests: a small synthetic SEVIR tree on disk."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
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
