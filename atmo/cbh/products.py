"""cbh's product names, built and parsed here only: the write-up format's report files and the pooled R² keys.

The rules name the report files at parse time and the results code writes them; the pooled job
writes ``<approach>_pooled_r2`` and the results code reads it back as that approach's column. Both
ends go through this module, which imports nothing heavy (the rules import it while Snakemake
parses the workflow; :mod:`atmo.cbh.results` needs matplotlib and scipy).
"""

from __future__ import annotations

#: Every approach's report in one file, as the write-up names it.
ALL_REPORTS_FILE = "WP4_Report_All.json"
_POOLED_SUFFIX = "_pooled_r2"


def report_file_name(name: str, kind: str) -> str:
    """The write-up's file name of one approach's report.

    ``WP4_Report_<name>.json`` (models), ``WP3_Report_gbdt.json``, ``Oracle_Report_<name>.json``,
    else ``Baseline_Report_<name>.json``.
    """
    if kind == "model":
        return f"WP4_Report_{name}.json"
    if kind == "oracle":
        return f"Oracle_Report_{name}.json"
    if name == "gbdt":
        return "WP3_Report_gbdt.json"
    return f"Baseline_Report_{name}.json"


def pooled_r2_key(approach: str) -> str:
    """The key of ``approach``'s pooled k-fold R² among the report's ``extra`` facts."""
    return f"{approach}{_POOLED_SUFFIX}"


def pooled_r2_approach(key: str) -> str | None:
    """The approach whose pooled k-fold R² ``key`` holds (:func:`pooled_r2_key`), or ``None`` for another fact."""
    return key.removesuffix(_POOLED_SUFFIX) if key.endswith(_POOLED_SUFFIX) else None
