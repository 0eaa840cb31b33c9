"""atmo.publish rows and tables: ordering, unique names, number formatting, tidy parsing, atomic files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from atmo.publish import (
    Column,
    Row,
    format_number,
    format_text,
    long_frame,
    markdown_table,
    ordered,
    regex_key_parser,
    wide_frame,
    write_tables,
)

ROWS = [
    Row("no_attention", "ablation", {"mae_km": 0.41, "r2": 0.70, "mae_km_fold1": 0.40, "folds": [1, 2]}),
    Row("climatology", "baseline", {"mae_km": 0.90, "r2": None, "mae_km_fold1": 0.95, "note": "mean of train"}),
    Row("attention", "model", {"mae_km": 0.3456, "r2": 0.8125, "mae_km_fold1": 0.33, "converged": True}),
    Row("geometry", "baseline", {"mae_km": float("nan"), "r2": 0.1, "extra": 7}),
]
parse_fold = regex_key_parser(r"(?P<metric>[a-z0-9_]+?)(?:_fold(?P<fold>\d+))?", fold=int)


def test_ordered_by_kind_and_stable_within() -> None:
    assert [r.name for r in ordered(ROWS)] == ["attention", "climatology", "geometry", "no_attention"]
    # a module's own order; the order given is kept within a kind
    custom = ordered(ROWS, kinds=("baseline", "ablation", "model"))
    assert [r.name for r in custom] == ["climatology", "geometry", "no_attention", "attention"]
    assert [r.name for r in ROWS] == ["no_attention", "climatology", "attention", "geometry"]  # input untouched


def test_duplicate_names_and_unknown_kinds_refused() -> None:
    with pytest.raises(ValueError, match=r"unique, repeated: \['climatology'\]"):
        ordered([*ROWS, Row("climatology", "model", {})])
    with pytest.raises(ValueError, match=r"kind must be one of .*teacher \('teacher'\)"):
        ordered([*ROWS, Row("teacher", "teacher", {})])
    with pytest.raises(ValueError, match="kind must be one of"):
        ordered(ROWS, kinds=("model", "baseline"))  # ablation not in this module's kinds
    for table in (
        wide_frame,
        lambda rows: markdown_table(rows, []),
        lambda rows: long_frame(rows, parse_fold, dimensions={}),
    ):
        with pytest.raises(ValueError, match="unique"):
            table([ROWS[0], ROWS[0]])
    with pytest.raises(ValueError, match="non-empty name"):
        Row("", "model", {})
    with pytest.raises(ValueError, match="kind must be a non-empty string"):
        Row("x", None, {})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.3456, 3, "0.346"),
        (612.25, 1, "612.2"),  # fixed-point as Python formats it, not rounded half up
        (2, 2, "2.00"),
        (np.float32(0.5), 1, "0.5"),
        (-0.0004, 3, "-0.000"),
        (None, 3, "n/a"),
        (float("nan"), 3, "n/a"),
        (np.float32("nan"), 3, "n/a"),
        (pd.NA, 3, "n/a"),
        (math.inf, 1, "inf"),
    ],
)
def test_format_number(value: object, digits: int, text: str) -> None:
    assert format_number(value, digits) == text


def test_format_text() -> None:
    assert format_text(None) == "n/a"
    assert format_text("a|b") == r"a\|b"
    assert format_text(3) == "3"


def test_markdown_table() -> None:
    columns = [
        Column("MAE (km)", "mae_km", 3),
        Column("R2", "r2", 2),
        Column("n folds", lambda row: len(row.scores.get("folds", [])), 0),
        Column("note", "note"),
        Column("missing", "no_such_key", 1),
    ]
    text = markdown_table(ROWS, columns, name_header="approach", notes=["MAE in km.", "second note"])
    assert text == (
        "| approach | kind | MAE (km) | R2 | n folds | note | missing |\n"
        "| --- | --- | ---: | ---: | ---: | --- | ---: |\n"
        "| attention | model | 0.346 | 0.81 | 0 | n/a | n/a |\n"
        "| climatology | baseline | 0.900 | n/a | 0 | mean of train | n/a |\n"
        "| geometry | baseline | n/a | 0.10 | 0 | n/a | n/a |\n"
        "| no_attention | ablation | 0.410 | 0.70 | 2 | n/a | n/a |\n"
        "\n"
        "MAE in km.\n"
        "second note\n"
    )
    assert markdown_table(ROWS[:1], []) == "| name | kind |\n| --- | --- |\n| no_attention | ablation |\n"


def test_wide_frame() -> None:
    frame = wide_frame(ROWS, name_column="approach")
    assert list(frame.columns) == ["approach", "kind", "converged", "extra", "mae_km", "mae_km_fold1", "note", "r2"]
    assert list(frame["approach"]) == ["attention", "climatology", "geometry", "no_attention"]
    assert "folds" not in frame  # lists are not table cells
    assert frame.loc[0, "mae_km"] == 0.3456 and np.isnan(frame.loc[2, "mae_km"]) and pd.isna(frame.loc[1, "r2"])
    assert frame.to_csv(index=False).splitlines()[2] == "climatology,baseline,,,0.9,0.95,mean of train,"


def test_long_frame_parses_keys() -> None:
    tidy = long_frame(ROWS, parse_fold, dimensions={"fold": "Int64"}, name_column="approach")
    assert list(tidy.columns) == ["approach", "kind", "metric", "fold", "value"]
    assert str(tidy["fold"].dtype) == "Int64"
    attention = tidy[tidy["approach"] == "attention"]
    # booleans, strings and lists are skipped; None and NaN become NaN values
    assert attention[["metric", "fold", "value"]].astype(object).values.tolist() == [
        ["mae_km", pd.NA, 0.3456],
        ["r2", pd.NA, 0.8125],
        ["mae_km", 1, 0.33],
    ]
    assert set(tidy["metric"]) == {"mae_km", "r2", "extra"}
    assert tidy.query("approach == 'climatology' and metric == 'r2'")["value"].isna().all()
    assert tidy.to_csv(index=False).splitlines()[:3] == [
        "approach,kind,metric,fold,value",
        "attention,model,mae_km,,0.3456",
        "attention,model,r2,,0.8125",
    ]
    only_mae = long_frame(ROWS, lambda key: {"metric": key} if key == "mae_km" else None, dimensions={})
    assert list(only_mae.columns) == ["name", "kind", "metric", "value"] and len(only_mae) == 4
    empty = long_frame(ROWS, lambda key: None, dimensions={"fold": "Int64"})
    assert empty.empty and list(empty.columns) == ["name", "kind", "metric", "fold", "value"]


def test_regex_key_parser() -> None:
    parse = regex_key_parser(r"(?P<metric>[a-z_]+?)(?:_(?P<threshold>\d+(?:\.\d+)?))?(?:_lead(?P<lead>\d+))?", lead=int)
    assert parse("csi_74_lead6") == {"metric": "csi", "threshold": "74", "lead": 6}  # no converter: text
    assert parse("csi_m") == {"metric": "csi_m", "threshold": None, "lead": None}
    assert parse("csi_74_lead6x") is None  # the whole key must match
    assert parse("CSI") is None
    with pytest.raises(ValueError, match="named group 'metric'"):
        regex_key_parser(r"(?P<name>\w+)")


def test_write_tables(tmp_path: Path) -> None:
    wide, md = wide_frame(ROWS), markdown_table(ROWS, [Column("MAE", "mae_km", 2)])
    long = long_frame(ROWS, parse_fold, dimensions={"fold": "Int64"})
    out = tmp_path / "new" / "dir"  # parents are created
    write_tables(
        wide=wide,
        markdown=md,
        long=long,
        csv_path=out / "scores.csv",
        markdown_path=out / "scores.md",
        long_csv_path=out / "scores_long.csv",
    )
    assert (out / "scores.csv").read_text() == wide.to_csv(index=False)
    assert (out / "scores.md").read_text() == md
    assert pd.read_csv(out / "scores_long.csv")["value"].tolist() == pytest.approx(long["value"].tolist(), nan_ok=True)
    write_tables(wide=wide, markdown=md, csv_path=tmp_path / "a.csv", markdown_path=tmp_path / "a.md")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "a.md", "new"]
    assert sorted(p.name for p in out.iterdir()) == ["scores.csv", "scores.md", "scores_long.csv"]


def test_write_tables_long_needs_both(tmp_path: Path) -> None:
    wide, md = wide_frame(ROWS), "table\n"
    with pytest.raises(ValueError, match="both long and long_csv_path"):
        write_tables(
            wide=wide,
            markdown=md,
            csv_path=tmp_path / "a.csv",
            markdown_path=tmp_path / "a.md",
            long_csv_path=tmp_path / "l.csv",
        )
    with pytest.raises(ValueError, match="both long and long_csv_path"):
        write_tables(wide=wide, markdown=md, long=wide, csv_path=tmp_path / "a.csv", markdown_path=tmp_path / "a.md")
    assert list(tmp_path.iterdir()) == []  # checked before anything is written


def test_failed_write_leaves_no_partial_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that dies half-way leaves the previous file intact and no temporary sibling."""
    md = tmp_path / "scores.md"
    md.write_text("previous table\n")
    real_write_text = Path.write_text

    def half_then_fail(self: Path, text: str, *args: object, **kwargs: object) -> int:
        real_write_text(self, text[: len(text) // 2])
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_text", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_tables(wide=wide_frame(ROWS), markdown="| a |\n", csv_path=tmp_path / "scores.csv", markdown_path=md)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scores.md"]  # no scores.csv, no .scores.csv.* left
    assert md.read_text() == "previous table\n"
