"""Every shipped config builds a DAG, and the workflow passes Snakemake's linter."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.workflow


@pytest.mark.parametrize("config", ["config/config.yaml", "config/test.yaml", "config/full.yaml"])
def test_dry_run_builds_dag(snakemake_in, config: str) -> None:
    output = snakemake_in("-n", config=config).stdout
    assert "Job stats" in output or "Nothing to be done" in output


def test_lint_is_clean(snakemake_in) -> None:
    result = snakemake_in("--lint", check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_config_stops_before_any_job_with_one_line(snakemake_in) -> None:
    result = snakemake_in("-n", "--config", "riskseg={'tile_sise': 64}", check=False)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("invalid config")]
    assert len(lines) == 1 and "riskseg" in lines[0] and "tile_sise" in lines[0], result.stderr
