"""Each synthetic generator is blind to the estimators it is meant to test.

A generator that imports its experiment's model, geometry or scoring code could decide the winner
by construction. Each experiment's generator lives in ``atmo/<experiment>/synthetic/``; from its
own experiment it may use only the package's constants, its on-disk format (``*_files``), the
generator's own modules and the listed data helpers. Checked twice: in the source (every import
statement) and at run time (which modules of the experiment importing the generator loads).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

#: Data helpers (no estimator) a generator may share with its experiment.
DATA_HELPERS = {"riskseg": {"smoothing"}, "downscale": {"coarsen", "split"}, "nowcast": set(), "cbh": set()}


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
    return modules


def _forbidden(experiment: str, modules: set[str]) -> set[str]:
    package = f"atmo.{experiment}"
    bad = set()
    for module in modules:
        if not module.startswith(package + "."):
            continue
        first = module.removeprefix(package + ".").split(".")[0]
        if first != "synthetic" and not first.endswith("_files") and first not in DATA_HELPERS[experiment]:
            bad.add(module)
    return bad


@pytest.mark.parametrize("experiment", sorted(DATA_HELPERS))
def test_the_generator_imports_no_estimator(experiment: str) -> None:
    sources = sorted((ROOT / "atmo" / experiment / "synthetic").glob("*.py"))
    assert len(sources) >= 2, sources
    for path in sources:
        assert not _forbidden(experiment, _imported_modules(path)), f"{path} imports an estimator"
    code = (
        f"import sys, importlib, pkgutil, atmo.{experiment}.synthetic as g\n"
        "for info in pkgutil.iter_modules(g.__path__): importlib.import_module(f'{g.__name__}.{info.name}')\n"
        "print('\\n'.join(sorted(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert not _forbidden(experiment, set(loaded.stdout.split())), loaded.stdout


def test_the_check_refuses_an_estimator_import() -> None:
    assert _forbidden("cbh", {"atmo.cbh.geometry", "atmo.cbh.synthetic.state", "atmo.cbh.flight_files"}) == {
        "atmo.cbh.geometry"
    }
