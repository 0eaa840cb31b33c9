"""Bad settings stop ``snakemake`` at parse time, before any job, with one line naming the key.

Each case edits ``config/test.yaml`` of a fresh workflow copy and runs a dry run: a rule that
ties keys together (atmo/settings/experiments.py) or a malformed date must fail there, not in the first
job that reads the block (for nowcast that is after the catalog, fetch and split jobs).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from workflow_helpers import edit_config, only_error_line

from atmo.machine import count_local_gpus

pytestmark = pytest.mark.workflow


def _set(module: str, block: str, **values: object) -> Callable[[dict], None]:
    return lambda config: config[module].setdefault(block, {}).update(values)


def _riskseg_alone(edit_block: Callable[[dict], None]) -> Callable[[dict], None]:
    """Edit the riskseg block and run riskseg alone: its rules check the variants after the other modules'
    are parsed, and a first parse of nowcast in a session prints a torch deprecation warning of its own."""

    def edit(config: dict) -> None:
        config["modules"] = ["riskseg"]
        edit_block(config["riskseg"])

    return edit


def _riskseg_variant(name: str, **values: object) -> Callable[[dict], None]:
    return _riskseg_alone(lambda block: block["variants"][name].update(values))


CASES = {
    "frames beyond an event": (
        _set("nowcast", "cache", frames_in=30, frames_out=30),
        "key 'nowcast.cache.frames_out': expected <= 19 (frames_in + frames_out <= 49)",
    ),
    "impossible date": (
        _set("nowcast", "synthetic", start="2019-13-45"),
        "key 'nowcast.synthetic.start': expected a date such as '2019-05-01' (YYYY-MM-DD), got '2019-13-45'",
    ),
    "local source without a directory": (
        lambda config: config["nowcast"].update(source="sevir_local"),
        "key 'nowcast.sevir.local_dir': source 'sevir_local' needs the SEVIR directory",
    ),
    "fractions leaving no training events": (
        _set("nowcast", "split", val_fraction=0.5, test_fraction=0.5),
        "key 'nowcast.split.test_fraction': val_fraction + test_fraction = 1 leaves no training",
    ),
    "a CRF halo beyond half its tile, read otherwise only after training and inference": (
        _riskseg_alone(lambda block: block["crf"]["v25"].update(halo=33)),
        "key 'riskseg.crf.v25.halo': expected <= tile_size / 2 (32), got 33",
    ),
    "a monitor no metric matches": (
        _set("nowcast", "train", monitor="val_csi"),
        "key 'nowcast.train.monitor': 'val_csi' is not a metric this training logs; expected one of ['train_loss',",
    ),
    "cuda on a machine without a GPU": (
        _set("cbh", "train", device="cuda"),
        "key 'cbh.train.device': 'cuda' but this machine has no CUDA GPU",
    ),
    "a CORAL head without the CORAL loss": (
        _riskseg_variant("v25", loss={"coral_weight": 0}),
        "key 'riskseg.variants.v25.head': 'coral' but 'v25' trains no CORAL loss (coral_weight 0)",
    ),
    "a variant with weights_from that sets its own training": (
        _riskseg_variant("v25_softmax_head", oversampling="smote"),
        "key 'riskseg.variants.v25_softmax_head.oversampling': a variant with weights_from predicts with 'v25''s",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_setting_stops_the_dry_run_with_one_line_naming_its_key(
    workflow_dir: Path, snakemake_in, case: str
) -> None:
    edit, expected = CASES[case]
    if "cuda" in case and count_local_gpus():
        pytest.skip("this machine has a CUDA GPU")
    edit_config(workflow_dir, edit)
    line = only_error_line(snakemake_in("-n", check=False))
    assert line.startswith(f"invalid config: {expected}"), line
    assert not (workflow_dir / "results").exists() and not (workflow_dir / "resources").exists()


def test_a_results_folder_that_cannot_be_written_is_one_line_before_any_job(workflow_dir: Path, snakemake_in) -> None:
    results = workflow_dir / "results"
    results.mkdir()
    made_immutable = subprocess.run(["chattr", "+i", str(results)], capture_output=True).returncode == 0
    try:
        if not made_immutable:  # a file system without immutable flags: a read-only folder as a non-root user
            if os.geteuid() == 0:
                pytest.skip("chattr +i is not supported here, and root writes through read-only permissions")
            results.chmod(0o555)
        line = only_error_line(snakemake_in(check=False), prefix=str(results.relative_to(workflow_dir)))
    finally:
        subprocess.run(["chattr", "-i", str(results)], capture_output=True)
        results.chmod(0o755)
    assert line.startswith("results: cannot be written (") and line.endswith("make it writable or run elsewhere")
    assert not list(results.iterdir())
