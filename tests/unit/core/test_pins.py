"""Dependencies are pinned once (pyproject.toml); the conda files must not drift from those pins."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_pins() -> dict[str, str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    pins = {}
    for requirement in requirements:
        match = PIN.match(requirement)
        assert match, f"pyproject.toml: '{requirement}' is not pinned with =="
        pins[_norm(match[1])] = match[2]
    return pins


def test_every_dependency_is_pinned_and_conda_envs_match() -> None:
    pins = _pyproject_pins()
    env_files = sorted((REPO / "envs").glob("*.yaml"))
    assert env_files
    for env_file in env_files:
        env = yaml.safe_load(env_file.read_text())
        pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
        for requirement in pip_section:
            match = PIN.match(requirement)
            if match is None:
                continue  # options (--extra-index-url) and the editable install of atmo itself
            name, version = _norm(match[1]), match[2]
            assert name in pins, f"{env_file.name}: {name} is not a pyproject.toml dependency"
            assert pins[name] == version, f"{env_file.name}: {name}=={version}, pyproject pins {pins[name]}"
