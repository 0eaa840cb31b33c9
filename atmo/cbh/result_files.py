"""File names of the seed-format JSON reports, apart from :mod:`atmo.cbh.results` so that the
workflow can name its outputs at parse time without importing matplotlib and scipy."""


def report_file_name(name: str, kind: str) -> str:
    """``WP4_Report_<name>.json`` (models), ``WP3_Report_gbdt.json``, ``Oracle_Report_<name>.json``,
    else ``Baseline_Report_<name>.json``."""
    if kind == "model":
        return f"WP4_Report_{name}.json"
    if kind == "oracle":
        return f"Oracle_Report_{name}.json"
    if name == "gbdt":
        return "WP3_Report_gbdt.json"
    return f"Baseline_Report_{name}.json"
