"""Nowcast report: the nowcast columns, key pattern, score files and figures on top of atmo.publish.

The generic parts (ordering, number formatting, atomic writes) are tested in tests/unit/report; here
the tables come from real score dicts, and from fixed ones whose bytes are pinned to the output of
the implementation before it moved onto atmo.publish, so scores.csv and scores.md cannot drift.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import h5py
import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from atmo.errors import InputError
from atmo.nowcast.baselines import persistence
from atmo.nowcast.results import (
    Forecaster,
    markdown_table,
    parse_score_key,
    plot_csi_by_lead,
    plot_event_panel,
    read_scores,
    scores_frame,
    scores_long,
    write_report,
    write_tables,
)
from atmo.nowcast.scoring import FORECAST_DATASET, score_forecasts
from atmo.publish import Row

T_IN, T_OUT, H = 4, 3, 24
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def case() -> dict[str, np.ndarray]:
    """Inputs, truth and three forecasts of increasing error (code/255 scale)."""
    rng = np.random.default_rng(21)
    seq = rng.uniform(0, 1, size=(2, T_IN + T_OUT, H, H)).astype(np.float32)
    inputs, truth = seq[:, :T_IN], seq[:, T_IN:]
    return {
        "inputs": inputs,
        "truth": truth,
        "sgt": np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 1).astype(np.float32),
        "sgt_no_graph": np.clip(truth + rng.normal(0, 0.2, truth.shape), 0, 1).astype(np.float32),
        "persistence": persistence(inputs, T_OUT),
    }


KINDS = {"sgt_no_graph": "ablation", "persistence": "baseline", "sgt": "model"}


def one_seed(rows: list[Row]) -> list[Forecaster]:
    """Each row as a forecaster with the one seed label ``0`` (a baseline's, or a single-seed model's)."""
    return [Forecaster(row.name, row.kind, {"0": row.scores}) for row in rows]


@pytest.fixture(scope="module")
def entries(case: dict[str, np.ndarray]) -> list[Row]:
    # given out of order on purpose: the report puts models, then baselines, then ablations
    return [Row(name, kind, score_forecasts(case[name], case["truth"])) for name, kind in KINDS.items()]


def fixed_scores(csi16: float, csi74: float | None, mse: float, mae: float, lpips: float | None, reason=None):
    """A small score dict in the layout of ``score_forecasts`` (two thresholds, two leads)."""
    scores = {"n_samples": 4, "n_leads": 2, "thresholds": [16, 74], "code_tolerance": 0.1}
    for label, csi in (("16", csi16), ("74", csi74)):
        scores[f"csi_{label}"] = csi
        scores[f"csi_{label}_lead1"] = None if csi is None else csi + 0.05
        scores[f"csi_{label}_lead2"] = None if csi is None else csi - 0.05
        scores[f"hits_{label}"] = 12
    defined = [c for c in (csi16, csi74) if c is not None]
    scores["csi_m"] = sum(defined) / len(defined)
    scores["hss_m"] = scores["csi_m"] - 0.1
    scores["csi_m_thresholds"] = [16, 74]
    for lead in (1, 2):
        at_lead = [scores[f"csi_{label}_lead{lead}"] for label in ("16", "74")]
        scores[f"csi_m_lead{lead}"] = float(np.mean([c for c in at_lead if c is not None]))
    for label, csi in (("16", csi16), ("74", csi74)):  # 4 x 4 max-pooling forgives small displacements
        scores[f"csi_pool4_{label}"] = None if csi is None else csi + 0.125
    scores["csi_m_pool4"] = scores["csi_m"] + 0.125
    scores.update(mse=mse, mae=mae, mse_lead1=mse * 0.5, mse_lead2=mse * 1.5)
    scores.update(dry_mean=mae / 8, dry_mean_lead1=mae / 16, dry_mean_lead2=mae / 4)  # pooled: not their mean
    scores["bias74_60min"] = None if csi74 is None else 0.5 + csi74
    scores.update(lpips=lpips, lpips_reason=reason, lpips_n_frames=0 if lpips is None else 8)
    return scores


FIXED = [
    Row("flow", "baseline", fixed_scores(0.61234, 0.25, 1339.04999, 21.125, None, "disabled")),
    Row("sgt", "model", fixed_scores(0.81256, 0.4449, 612.25, 12.5, 0.23456)),
    Row("sgt_no_gnn", "ablation", fixed_scores(0.7, None, 802.0, float("nan"), None, "weights not found")),
    Row("persistence", "baseline", fixed_scores(0.5, 0.0, 2000.0, 30.0, None, "disabled")),
]

# Written by atmo/nowcast/results.py for FIXED (checked by hand when HSS-M, the pooled table and the last-lead
# table were added; when the seed column and the seeds column came, the scores were checked unchanged; the
# bias-74 and dry-mean columns checked by hand: sgt 0.5 + 0.4449 -> 0.94 and 12.5 / 8 -> 1.56, 2 leads -> 10 min).
EXPECTED_CSV = """\
model,kind,seed,bias74_60min,code_tolerance,csi_16,csi_16_lead1,csi_16_lead2,csi_74,csi_74_lead1,csi_74_lead2,csi_m,\
csi_m_lead1,csi_m_lead2,csi_m_pool4,csi_pool4_16,csi_pool4_74,dry_mean,dry_mean_lead1,dry_mean_lead2,hits_16,hits_74\
,hss_m,lpips,lpips_n_frames,lpips_reason,mae,mse,mse_lead1,mse_lead2,n_leads,n_samples
sgt,model,0,0.9449000000000001,0.1,0.81256,0.86256,0.7625599999999999,0.4449,0.4949,0.39490000000000003,0.62873,0.67\
873,0.57873,0.75373,0.93756,0.5699000000000001,1.5625,0.78125,3.125,12,12,0.52873,0.23456,8,,12.5,612.25,306.125,918\
.375,2,4
flow,baseline,0,0.75,0.1,0.61234,0.66234,0.56234,0.25,0.3,0.2,0.43117,0.48117,0.38117,0.55617,0.73734,0.375,2.640625\
,1.3203125,5.28125,12,12,0.33116999999999996,,0,disabled,21.125,1339.04999,669.524995,2008.574985,2,4
persistence,baseline,0,0.5,0.1,0.5,0.55,0.45,0.0,0.05,-0.05,0.25,0.30000000000000004,0.2,0.375,0.625,0.125,3.75,1.87\
5,7.5,12,12,0.15,,0,disabled,30.0,2000.0,1000.0,3000.0,2,4
sgt_no_gnn,ablation,0,,0.1,0.7,0.75,0.6499999999999999,,,,0.7,0.75,0.6499999999999999,0.825,0.825,,,,,12,12,0.6,,0,w\
eights not found,,802.0,401.0,1203.0,2,4
"""
EXPECTED_MD = """\
| model | kind | CSI-M | seeds | CSI-16 | CSI-74 | HSS-M | MSE | MAE | LPIPS | bias-74 10 min | dry mean |
| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| sgt | model | 0.629 | 1 | 0.813 | 0.445 | 0.529 | 612.2 | 12.50 | 0.235 | 0.94 | 1.56 |
| flow | baseline | 0.431 | 1 | 0.612 | 0.250 | 0.331 | 1339.0 | 21.12 | n/a | 0.75 | 2.64 |
| persistence | baseline | 0.250 | 1 | 0.500 | 0.000 | 0.150 | 2000.0 | 30.00 | n/a | 0.50 | 3.75 |
| sgt_no_gnn | ablation | 0.700 | 1 | 0.700 | n/a | 0.600 | 802.0 | n/a | n/a | n/a | n/a |

Hits, misses and false alarms summed over all test pixels and lead times per threshold before any score is formed (a\
s Earthformer's evaluation does); events are VIL code >= threshold; MSE/MAE in VIL code units (0..255); n/a = undefi\
ned or not computed.
One row per forecaster over its seeds (`seeds`): CSI-M is mean ± sd over seeds, every other number the seed mean.
CSI-M and HSS-M: mean over VIP 16, 74, the thresholds the test truth reaches.
bias-74 10 min: frequency bias (H + F) / (H + M) at VIL code >= 74 at lead 2, 10 min after the last input frame, the\
 last lead (the forecasts stop short of 60 min); 1 is unbiased, above 1 storms too large or too many, below 1 storms\
 fading. Seed mean; `bias74_60min` in scores.csv.
dry mean: mean forecast VIL code (0..255) over the test pixels whose truth code is 0, summed over all leads before d\
ividing; 0 when dry areas stay dry, raised by a weak haze below VIP 16 (which no CSI sees) or by displaced storms. S\
eed mean.
LPIPS n/a for flow: disabled
LPIPS n/a for persistence: disabled
LPIPS n/a for sgt_no_gnn: weights not found

| model | kind | CSI-M P1 | CSI-M P4 | CSI-16 P1 | CSI-16 P4 | CSI-74 P1 | CSI-74 P4 |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
| sgt | model | 0.629 | 0.754 | 0.813 | 0.938 | 0.445 | 0.570 |
| flow | baseline | 0.431 | 0.556 | 0.612 | 0.737 | 0.250 | 0.375 |
| persistence | baseline | 0.250 | 0.375 | 0.500 | 0.625 | 0.000 | 0.125 |
| sgt_no_gnn | ablation | 0.700 | 0.825 | 0.700 | 0.825 | n/a | n/a |

Max-pooled over non-overlapping s x s blocks of the forecast and the truth before the counts (P{s}); P1 is the unpoo\
led table above.

| model | kind | CSI-M 10 min | CSI-16 10 min | CSI-74 10 min |
| --- | --- | --- | ---: | ---: |
| sgt | model | 0.579 | 0.763 | 0.395 |
| flow | baseline | 0.381 | 0.562 | 0.200 |
| persistence | baseline | 0.200 | 0.450 | -0.050 |
| sgt_no_gnn | ablation | 0.650 | 0.650 | n/a |

At lead 2 only: the counts of that lead, the CSI-M over the thresholds its truth reaches.
"""
EXPECTED_LONG_SHA256 = "23bc49940745c1cbea254834ae49a4e250eeff403ce38000ef1cf5db1dbafb00"


def test_tables_bytes_unchanged(tmp_path: Path) -> None:
    csv, md, long_csv = tmp_path / "scores.csv", tmp_path / "scores.md", tmp_path / "scores_long.csv"
    write_tables(one_seed(FIXED), csv_path=csv, markdown_path=md, long_csv_path=long_csv)
    assert csv.read_text() == EXPECTED_CSV
    assert md.read_text() == EXPECTED_MD
    lines = long_csv.read_text().splitlines()
    assert len(lines) == 1 + 4 * 28 - 3  # header + 28 keys per model, less 3 string lpips_reason
    assert lines[:5] == [
        "model,kind,seed,metric,threshold,lead,value",
        "sgt,model,0,n_samples,,,4.0",
        "sgt,model,0,n_leads,,,2.0",
        "sgt,model,0,code_tolerance,,,0.1",
        "sgt,model,0,csi,16.0,,0.81256",
    ]
    assert "sgt,model,0,csi,74.0,2,0.39490000000000003" in lines
    assert "sgt,model,0,mse,,1,306.125" in lines
    assert "sgt_no_gnn,ablation,0,csi,74.0,1," in lines  # undefined: empty value, not 0
    assert "sgt,model,0,dry_mean,,,1.5625" in lines and "sgt,model,0,dry_mean,,2,3.125" in lines
    # bias74_60min is bias at threshold 74 and one lead: the tidy table has it as that row, not as a metric
    assert not any(",bias74_60min," in line for line in lines)
    assert hashlib.sha256(long_csv.read_bytes()).hexdigest() == EXPECTED_LONG_SHA256


def test_tables(tmp_path: Path, entries: list[Row]) -> None:
    csv, md, long_csv = tmp_path / "scores.csv", tmp_path / "table.md", tmp_path / "scores_long.csv"
    write_tables(one_seed(entries), csv_path=csv, markdown_path=md, long_csv_path=long_csv)

    wide = pd.read_csv(csv)
    assert list(wide["seed"]) == [0, 0, 0]
    assert list(wide["model"]) == ["sgt", "persistence", "sgt_no_graph"]
    assert list(wide["kind"]) == ["model", "baseline", "ablation"]
    assert {"csi_74_lead3", "csi_m", "mse_lead1", "lpips"} <= set(wide.columns)
    by_name = {e.name: e.scores for e in entries}
    assert wide.set_index("model").loc["sgt", "csi_74_lead3"] == pytest.approx(by_name["sgt"]["csi_74_lead3"])
    # better forecast, better scores: a real check that rows are not mixed up
    assert wide.loc[0, "mse"] < wide.loc[2, "mse"] < wide.loc[1, "mse"]

    text = md.read_text()
    unpooled, pooled, last_lead = (table for table in text.split("\n\n") if table.startswith("| "))
    lines = unpooled.splitlines()
    assert lines[0].startswith("| model | kind | CSI-M | seeds | CSI-16 | CSI-74")
    assert lines[0].endswith("| CSI-219 | HSS-M | MSE | MAE | LPIPS | bias-74 15 min | dry mean |")
    sgt_cells = lines[2].split(" | ")
    # no truth pixel of these uniform fields is exactly 0: the dry mean is undefined, shown n/a
    assert sgt_cells[-2:] == [f"{by_name['sgt']['bias74_60min']:.2f}", "n/a |"] and by_name["sgt"]["dry_mean"] is None
    assert by_name["sgt"]["bias74_60min"] == by_name["sgt"]["bias_74_lead3"]  # 3 leads: the last one, 15 min
    assert "bias-74 15 min: frequency bias (H + F) / (H + M) at VIL code >= 74 at lead 3, 15 min after" in text
    assert "dry mean: mean forecast VIL code (0..255) over the test pixels whose truth code is 0" in text
    assert [line.split(" | ")[0] for line in lines[2:]] == ["| sgt", "| persistence", "| sgt_no_graph"]
    assert f"{by_name['persistence']['csi_m']:.3f}" in lines[3]
    assert pooled.splitlines()[0] == (
        "| model | kind | CSI-M P1 | CSI-M P4 | CSI-M P16 | CSI-181 P1 | CSI-181 P4 | CSI-181 P16 "
        "| CSI-219 P1 | CSI-219 P4 | CSI-219 P16 |"
    )
    assert f"{by_name['sgt']['csi_m_pool16']:.3f}" in pooled.splitlines()[2].split(" | ")[4]
    # the last lead (3 of 5 minutes): an extrapolation's weakest lead, the one a learned model must win
    header, _, sgt_row, *_ = last_lead.splitlines()
    assert header.startswith("| model | kind | CSI-M 15 min | CSI-16 15 min | CSI-74 15 min |")
    assert sgt_row.split(" | ")[4] == f"{by_name['sgt']['csi_74_lead3']:.3f}"
    assert sgt_row.split(" | ")[2] == f"{by_name['sgt']['csi_m_lead3']:.3f}"
    assert "LPIPS n/a for sgt: frames of (24, 24) px" in text  # small test frames: reason shown, no number

    tidy = pd.read_csv(long_csv)
    row = tidy.query("model == 'sgt' and metric == 'csi' and threshold == 74 and lead == 3")
    assert row["value"].item() == pytest.approx(by_name["sgt"]["csi_74_lead3"])
    assert tidy.query("metric == 'csi_m' and lead.isna()")["model"].tolist() == ["sgt", "persistence", "sgt_no_graph"]
    assert not list(tmp_path.glob(".*"))  # no temporary siblings left behind


@pytest.mark.parametrize(
    ("key", "parsed"),
    [
        ("csi_74_lead6", {"metric": "csi", "threshold": 74.0, "lead": 6}),
        ("csi_74.5", {"metric": "csi", "threshold": 74.5, "lead": None}),
        ("csi_m_lead2", {"metric": "csi_m", "threshold": None, "lead": 2}),
        ("false_alarms_219", {"metric": "false_alarms", "threshold": 219.0, "lead": None}),
        ("mse", {"metric": "mse", "threshold": None, "lead": None}),
        ("csi_pool4_181", {"metric": "csi_pool4", "threshold": 181.0, "lead": None}),
        ("csi_m_pool16", {"metric": "csi_m_pool16", "threshold": None, "lead": None}),
        ("hss_219_lead3", {"metric": "hss", "threshold": 219.0, "lead": 3}),
        ("CSI_74", None),
    ],
)
def test_score_key_pattern(key: str, parsed: dict | None) -> None:
    assert parse_score_key(key) == parsed


def test_long_format_parses_keys(entries: list[Row]) -> None:
    tidy = scores_long(one_seed(entries))
    metrics = set(tidy["metric"])
    assert {"csi", "pod", "far", "bias", "hits", "csi_m", "mse", "mae", "n_samples"} <= metrics
    mse = tidy.query("model == 'sgt' and metric == 'mse'")
    assert mse["lead"].isna().sum() == 1 and mse["lead"].dropna().tolist() == [1, 2, 3]
    assert str(tidy["lead"].dtype) == "Int64" and str(tidy["threshold"].dtype) == "float64"
    assert "thresholds" not in metrics  # lists are not scores
    assert list(scores_frame(one_seed(entries)).columns[:3]) == ["model", "kind", "seed"]


def test_figures(tmp_path: Path, entries: list[Row], case: dict[str, np.ndarray]) -> None:
    csi_png, panel_png = tmp_path / "csi_by_lead.png", tmp_path / "event.png"
    plot_csi_by_lead(csi_png, entries)
    forecasts = {name: case[name][0] for name in ("sgt", "persistence", "sgt_no_graph")}
    plot_event_panel(panel_png, case["inputs"][0], case["truth"][0], forecasts, title="S000001")
    for png in (csi_png, panel_png):
        assert png.read_bytes()[:8] == PNG_SIGNATURE
        image = matplotlib.image.imread(png)
        assert image.shape[0] > 200 and image.shape[1] > 200 and image.std() > 0.01
    assert not list(tmp_path.glob(".*"))


def test_bad_inputs_write_nothing(tmp_path: Path, entries: list[Row], case: dict[str, np.ndarray]) -> None:
    out = tmp_path / "event.png"
    with pytest.raises(ValueError, match="forecast 'bad'"):
        plot_event_panel(out, case["inputs"][0], case["truth"][0], {"bad": case["truth"][0, :2]})
    other = Row("other", "model", {**entries[0].scores, "thresholds": [74]})
    with pytest.raises(ValueError, match="different thresholds"):
        plot_csi_by_lead(tmp_path / "csi.png", [*entries, other])
    with pytest.raises(ValueError, match="different thresholds"):
        write_tables(one_seed([*entries, other]), csv_path=tmp_path / "s.csv", markdown_path=tmp_path / "s.md")
    with pytest.raises(ValueError, match="unique"):
        markdown_table([entries[0], entries[0]])
    with pytest.raises(ValueError, match="kind"):
        markdown_table([Row("x", "teacher", entries[0].scores)])
    assert list(tmp_path.iterdir()) == []


def test_read_scores(tmp_path: Path) -> None:
    good = tmp_path / "sgt.json"
    good.write_text(json.dumps(FIXED[1].scores))
    assert read_scores(good) == FIXED[1].scores
    other = tmp_path / "cbh.json"
    other.write_text(json.dumps({"mae_km": 0.3}))
    with pytest.raises(InputError, match=r"not a nowcast score file: key\(s\) \['thresholds', 'n_leads'\] missing"):
        read_scores(other)


def test_write_report_long_csv(tmp_path: Path, case: dict[str, np.ndarray], entries: list[Row]) -> None:
    """``write_report`` passes ``long_csv_path`` through; the tables match :func:`write_tables` byte for byte."""
    cache = tmp_path / "test.h5"
    with h5py.File(cache, "w") as handle:
        handle["x"] = case["inputs"][:, :, None]  # (N, T_in, C, H, W)
        handle["y"] = case["truth"]
        handle["event_id"] = np.array([b"S1", b"S2"])
    score_paths, forecast_paths = {}, {}
    for entry in entries:
        score_paths[entry.name] = {"0": tmp_path / f"{entry.name}.json"}
        score_paths[entry.name]["0"].write_text(json.dumps(entry.scores))
        forecast_paths[entry.name] = {"0": tmp_path / f"{entry.name}.h5"}
        with h5py.File(forecast_paths[entry.name]["0"], "w") as handle:
            handle[FORECAST_DATASET] = case[entry.name]
    out = tmp_path / "out"
    table = write_report(
        score_paths,
        KINDS,
        forecast_paths,
        cache,
        csv_path=out / "scores.csv",
        markdown_path=out / "scores.md",
        long_csv_path=out / "scores_long.csv",
        csi_figure=out / "csi_by_lead.png",
        event_figure=out / "event_panel.png",
        event_index=1,
    )
    names = ["csi_by_lead.png", "event_panel.png", "scores.csv", "scores.md", "scores_long.csv"]
    assert sorted(p.name for p in out.iterdir()) == names
    reference = tmp_path / "reference"
    write_tables(
        one_seed(entries),
        csv_path=reference / "scores.csv",
        markdown_path=reference / "scores.md",
        long_csv_path=reference / "scores_long.csv",
    )
    for name in ("scores.csv", "scores.md", "scores_long.csv"):
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name
    assert table == (out / "scores.md").read_text()


def test_a_weak_echo_test_set_gets_a_csi_m_for_every_model_over_the_thresholds_it_reaches() -> None:
    # The test truth stays below VIP 160: thresholds 160, 181 and 219 are 0/0 for a model that
    # predicts nothing there. One model raises false alarms at 219; CSI-M must be a number for both.
    rng = np.random.default_rng(5)
    truth = rng.uniform(0, 150 / 255, size=(2, 3, 24, 24)).astype(np.float32)
    quiet = np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 150 / 255).astype(np.float32)
    noisy = quiet.copy()
    noisy[:, :, 0, 0] = 230 / 255
    rows = [
        Row(name, "model", score_forecasts(f, truth, lpips=False)) for name, f in (("quiet", quiet), ("noisy", noisy))
    ]
    for row in rows:
        assert row.scores["csi_m_thresholds"] == [16, 74, 133]
        defined = [row.scores[f"csi_{t}"] for t in (16, 74, 133)]
        assert row.scores["csi_m"] == pytest.approx(np.mean(defined))
        assert row.scores["csi_m_pool4"] is not None and row.scores["hss_m"] is not None
    by_name = {row.name: row.scores for row in rows}
    assert by_name["quiet"]["csi_219"] is None and by_name["noisy"]["csi_219"] == 0.0
    assert by_name["noisy"]["csi_m"] < by_name["quiet"]["csi_m"]  # its false alarms count at 16, 74 and 133
    text = markdown_table(rows)
    assert "CSI-M and HSS-M: mean over VIP 16, 74, 133, the thresholds the test truth reaches; " in text
    assert "left out for every model: 160, 181, 219 (no test pixel reaches them)." in text
    unpooled = text.split("\n\n")[0].splitlines()
    assert [line.split(" | ")[2] for line in unpooled[2:]] == [
        f"{by_name[name]['csi_m']:.3f}" for name in ("quiet", "noisy")
    ]


def test_under_unreached_threshold_zero_csi_m_averages_every_threshold_and_the_note_names_the_unreached() -> None:
    rng = np.random.default_rng(5)
    truth = rng.uniform(0, 150 / 255, size=(2, 3, 24, 24)).astype(np.float32)  # below VIP 160
    forecast = np.clip(truth + rng.normal(0, 0.05, truth.shape), 0, 150 / 255).astype(np.float32)
    scores = score_forecasts(forecast, truth, unreached_threshold="zero", lpips=False)
    assert scores["csi_m_thresholds"] == [16, 74, 133, 160, 181, 219]
    assert scores["csi_m"] == pytest.approx(sum(scores[f"csi_{t}"] for t in (16, 74, 133)) / 6)
    text = markdown_table([Row("unet", "model", scores)])
    assert (
        "CSI-M and HSS-M: mean over VIP 16, 74, 133, 160, 181, 219, a threshold no test pixel reaches counted as 0 "
        "(Earthformer's rule, as the SEVIR leaderboard reports CSI-M); unreached here: 160, 181, 219." in text
    )
    assert "At lead 3 only: the counts of that lead, the CSI-M over every threshold, one its truth does not" in text
    skip = Row("flow", "baseline", score_forecasts(forecast, truth, lpips=False))
    with pytest.raises(ValueError, match="different unreached_threshold rules"):
        markdown_table([Row("unet", "model", scores), skip])


def test_seeds_give_mean_sd_every_seeds_row_and_the_comparisons_intervals_and_verdicts(tmp_path: Path) -> None:
    sgt = Forecaster(
        "sgt",
        "model",
        {"0": fixed_scores(0.8, 0.4, 600.0, 12.0, None, "disabled"), "1": fixed_scores(0.9, 0.5, 500.0, 11.0, None)},
    )
    flow = Forecaster("flow", "baseline", {"0": FIXED[0].scores})
    scheme = "paired bootstrap, 1000 replicates"

    def record(label: str, low: float, verdict: str) -> dict:
        against = {"a": "sgt", "estimate": 0.2, "low": low, "high": 0.3, "verdict": verdict}
        return {
            "label": label,
            "units": "test episodes",
            "scheme": scheme,
            "comparisons": [
                {**against, "b": "unet", "role": "write-up", "verdict": "loses"},  # not the row's own opponent
                {**against, "b": "flow", "role": "vs best baseline"},
            ],
        }

    csv, md, long_csv = tmp_path / "scores.csv", tmp_path / "scores.md", tmp_path / "scores_long.csv"
    write_tables(
        [flow, sgt],
        csv_path=csv,
        markdown_path=md,
        long_csv_path=long_csv,
        record=record("CSI-M", 0.1, "beats"),
        last_record=record("CSI-M 10 min", -0.01, "does not separate"),
    )
    wide = pd.read_csv(csv, dtype={"seed": str})
    assert wide[["model", "seed"]].values.tolist() == [["sgt", "0"], ["sgt", "1"], ["flow", "0"]]
    assert wide["csi_m"].tolist() == pytest.approx([0.6, 0.7, FIXED[0].scores["csi_m"]])
    assert pd.read_csv(long_csv).query("metric == 'csi_m' and lead.isna()")["seed"].tolist() == [0, 1, 0]

    unpooled, _, last_lead = (t for t in md.read_text().split("\n\n") if t.startswith("| "))
    header, _, sgt_row, flow_row = unpooled.splitlines()[:4]
    assert header.startswith("| model | kind | CSI-M | CSI-M Δ [95 % interval] | verdict | seeds | CSI-16 |")
    # CSI-M 0.6 and 0.7: mean 0.65, sd (ddof 1) 0.0707; CSI-16 0.8 and 0.9: mean 0.85;
    # bias-74 0.9 and 1.0: mean 0.95; dry mean 12 / 8 and 11 / 8: mean 1.4375 (seed means, as every column)
    assert sgt_row == (
        "| sgt | model | 0.650 ± 0.071 | +0.200 [+0.100, +0.300] vs flow | beats | 2 | 0.850 | 0.450 | 0.550 | "
        "550.0 | 11.50 | n/a | 0.95 | 1.44 |"
    )
    assert flow_row.startswith("| flow | baseline | 0.431 | n/a | n/a | 1 | 0.612 |")
    assert f"Units: test episodes; {scheme}." in md.read_text()
    last_header, _, last_sgt, *_ = last_lead.splitlines()
    assert last_header.startswith("| model | kind | CSI-M 10 min | CSI-M 10 min Δ [95 % interval] | verdict |")
    assert last_sgt.startswith("| sgt | model | 0.600 ± 0.071 | +0.200 [-0.010, +0.300] vs flow | does not separate |")
