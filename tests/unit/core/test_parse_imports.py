"""What the rules import while Snakemake parses the workflow must not load torch.

Every Snakemake start-up parses the Snakefile (twice per SLURM job: the batch script and its job
step), and importing torch costs seconds there: measured 3.2 s instead of 1.6 s for a dry run of
config/test.yaml when rules/common.smk imported the ``atmo.train`` package. Model checks that need
torch import it lazily, behind the config-check cache.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from atmo.settings.workflow import MODULES

REPO = Path(__file__).resolve().parents[3]
ATMO_IMPORT = re.compile(r"^(?:from|import) (atmo(?:\.\w+)*)", re.MULTILINE)


def _parse_time_modules() -> list[str]:
    """What the rules import, plus each experiment's spec (the config check imports them while parsing)."""
    files = [REPO / "Snakefile", *sorted((REPO / "rules").glob("*.smk"))]
    specs = {f"atmo.{module}.spec" for module in MODULES}
    return sorted({module for path in files for module in ATMO_IMPORT.findall(path.read_text())} | specs)


def test_the_modules_the_rules_import_do_not_load_torch() -> None:
    modules = _parse_time_modules()
    assert "atmo.settings.experiments" in modules and "atmo.settings.run_only" in modules, modules
    probe = "import importlib, sys\n" + "".join(f"importlib.import_module({m!r})\n" for m in modules)
    probe += "print(sorted(name for name in ('torch', 'torchvision') if name in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", f"parse-time imports load {loaded.stdout.strip()}"
