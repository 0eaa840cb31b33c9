"""The shared evaluation and report layer: rows of scores -> tables, figures and report entries.

Every experiment ends the same way. Its scoring jobs write one flat metrics JSON per entry (model,
baseline, ablation); one table job reads them all, builds :class:`Row` objects, writes the tables
with :func:`write_tables` and the figures with :func:`save_figure`, and its rule registers every
output with Snakemake's ``report()`` so ``snakemake --report`` shows them with a caption. The
experiment module keeps only what is its own: which columns and digits, how its score keys parse,
which plots.

A new experiment, say ``hail``, would write ``atmo/hail/results.py`` like this::

    from atmo.publish import Column, Row, long_frame, markdown_table, regex_key_parser, wide_frame, write_tables
    from atmo.publish import as_float, legend_outside, panel_grid, plot_rows, save_figure

    COLUMNS = [Column("MAE (mm)", "mae_mm", 3), Column("R2", "r2", 3), Column("n", "n_samples", 0)]
    parse_key = regex_key_parser(r"(?P<metric>[a-z0-9_]+?)(?:_fold(?P<fold>\\d+))?", fold=int)

    def write_report(metric_paths, kinds, folds, *, csv_path, markdown_path, long_csv_path, figure):
        # read_metrics: the module's own reader, which checks that a file is a hail metrics file
        rows = [Row(name, kinds[name], read_metrics(path)) for name, path in metric_paths.items()]
        write_tables(
            wide=wide_frame(rows, name_column="approach"),
            markdown=markdown_table(rows, COLUMNS, name_header="approach", notes=["MAE in mm."]),
            long=long_frame(rows, parse_key, dimensions={"fold": "Int64"}, name_column="approach"),
            csv_path=csv_path, markdown_path=markdown_path, long_csv_path=long_csv_path,
        )
        fig, axes = panel_grid(1)
        plot_rows(axes[0, 0], rows, lambda row: (folds, [as_float(row.scores.get(f"mae_mm_fold{k}")) for k in folds]))
        legend_outside(fig, axes[0, 0])
        save_figure(fig, figure)

and its rule wraps each output in ``report()``, with one caption file per output under
``report/hail/`` saying what it shows and how it was computed (paths relative to the ``.smk`` file)::

    output:
        csv=report(f"{RESULTS}/hail/scores.csv", caption="../report/hail/scores_csv.rst",
                   category="hail", subcategory="table"),
        figure=report(f"{RESULTS}/hail/mae_by_fold.png", caption="../report/hail/mae_by_fold.rst",
                      category="hail", subcategory="figure"),

Rows are ordered by kind (``model < baseline < ablation`` by default, or the ``kinds`` a module
passes) and names must be unique; undefined scores (``None``/NaN) show as ``n/a``. Nothing here
imports Snakemake.
"""

from atmo.publish.figures import KIND_STYLES, as_float, legend_outside, panel_grid, plot_rows, save_figure
from atmo.publish.rows import KINDS, KINDS_WITH_ORACLE, Row, ordered
from atmo.publish.tables import (
    MISSING,
    Column,
    KeyParser,
    format_number,
    format_text,
    long_frame,
    markdown_table,
    regex_key_parser,
    wide_frame,
    write_tables,
)

__all__ = [
    "KINDS",
    "KINDS_WITH_ORACLE",
    "KIND_STYLES",
    "MISSING",
    "Column",
    "KeyParser",
    "Row",
    "as_float",
    "format_number",
    "format_text",
    "legend_outside",
    "long_frame",
    "markdown_table",
    "ordered",
    "panel_grid",
    "plot_rows",
    "regex_key_parser",
    "save_figure",
    "wide_frame",
    "write_tables",
]
