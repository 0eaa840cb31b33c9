"""The workflow on a real SLURM cluster, through ``profiles/slurm`` and snakemake-executor-plugin-slurm.

A single-node SLURM (slurmctld + slurmd + munge, two fake GPUs, partitions ``cpu`` and ``gpu`` as
named in the profile) is started once for this module. The workflow then runs twice on the same
config: locally, and with ``--profile`` = ``profiles/slurm`` plus only what this test cluster
needs (:data:`TEST_CLUSTER_SETTINGS`). During the SLURM run one training job is cancelled with
``scancel`` after it wrote its first checkpoint. The tests then read what happened:

* every job ran inside a SLURM allocation (its SLURM log shows it), none on the submitting machine
  but the declared local rules (summary and the tables' HTML pages);
* jobs whose rule declares ``gpu=1`` were submitted with a GPU (``TresPerJob=gres:gpu:1``) to the
  GPU partition, all others without one to the CPU partition;
* the cancelled training job was resubmitted with twice the memory (``attempt`` 2), resumed from
  its ``last.pt`` and the run completed;
* every output file equals the local run's by content (tolerance in ``tests/compare_outputs.py``:
  floats ``rtol=1e-5, atol=1e-8``, everything else exact);
* after editing one experiment's config, rerunning through the profile submits only that
  experiment's jobs, and ``--rerun-triggers mtime`` would submit none.

The test profile also groups more CPU rules (:data:`TEST_GROUPS`): on this 2-core machine each
SLURM job's two Snakemake start-ups cost more than its work. The real profile's own groups are
therefore not what runs here; ``test_the_real_profiles_groups_plan_a_valid_dag`` checks them with a
dry run through the unchanged profile.

To keep CI short the config is ``config/test.yaml`` with one nowcast model and one baseline, and
two cbh flights with one network variant (all four modules and every rule kind still run), and more
nowcast epochs, which leaves time to cancel a training job between its first checkpoint and its end.
Skipped, with the reason, where SLURM cannot start.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from compare_outputs import compare_trees
from slurm_cluster import SlurmCluster, unavailable_reason
from workflow_helpers import REPO, SNAKEMAKE, copy_workflow, edit_config

UNAVAILABLE = unavailable_reason()
pytestmark = [
    pytest.mark.workflow,
    pytest.mark.slurm,
    pytest.mark.skipif(UNAVAILABLE is not None, reason=f"no SLURM cluster: {UNAVAILABLE}"),
]

PROFILE = REPO / "profiles/slurm/config.yaml"
CONFIG = "config/test_slurm.yaml"
KEEP_MODELS = ("sgt",)  # the one whose training job is cancelled and resumed
KEEP_BASELINES = ("persistence",)
EPOCHS = 20
TRAIN_RULE = "nowcast_train"
# rules that declare gpu=1: training and running a trained model
GPU_RULES = (
    TRAIN_RULE,
    "nowcast_forecast",
    "cbh_pretrain_mae",
    "cbh_train",
    "riskseg_train",
    "riskseg_predict",
    "downscale_train",
    "downscale_sample",
)
KILLED = "sgt"  # the model whose training job is cancelled mid-run
KILLED_SEED = 0  # its one seed here
# Rules declared `localrule: True` (rules/summary.smk): seconds of work on small text files.
LOCAL_RULES = {"all", "summary", "report_table_page"}
# A guard against a hung run, not a speed target: the run took 411 s in CI and over 480 s on a slower machine.
RUN_TIMEOUT_S = 780
# The test node claims enough CPUs and memory for the profile's real requests (8 CPUs and 32 GB per
# training job, doubled on a retry); its two fake GPUs are /dev/null character devices.
NODE = {"gpus": 2, "cpus": 64, "memory_mb": 512_000}
# All this test adds to the real profile: the test cluster has no slurmdbd, so `sacct` cannot report
# job states and `squeue` must (slurm.conf keeps finished jobs for MinJobAge=600 s); it is a 2-core
# machine, so few jobs at once and quick status checks; the test reads each job's SLURM log.
TEST_CLUSTER_SETTINGS = {
    "slurm-status-command": "squeue",
    "slurm-init-seconds-before-status-checks": 1,
    "seconds-between-status-checks": 1,
    "slurm-keep-successful-logs": True,
    "latency-wait": 5,
    "jobs": 4,
    # The local reference run trains with one torch thread per job (CPU-only machine); the thread
    # count changes the last bits of every weight, so the cluster run must use one too.
    "set-threads": {rule: 1 for rule in GPU_RULES},
}

JOB_BLOCK = re.compile(
    r"^(?P<indent> *)(?P<kind>(?:local)?(?:rule|checkpoint)) (?P<rule>\w+):\n(?P<body>(?:(?P=indent)    .*\n)*)", re.M
)
# `show-failed-logs` copies a failed job's logs into the main log, between lines of 80 `=`.
ECHOED_LOG = re.compile(r"^Logfile [^\n]*:\n={80}\n.*?^={80}\n", re.M | re.S)
MEMORY_UNITS = {"M": 1, "G": 1024, "T": 1024**2}
WILDCARDS = re.compile(r"^ *wildcards: (.*)$", re.M)
RESOURCES = re.compile(r"^ *resources: (.*)$", re.M)
RUN_ID = re.compile(r"SLURM run ID: (\S+)")


# -- helpers -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One Snakemake job as printed in a log: rule, wildcards and whether it asked for a GPU."""

    rule: str
    wildcards: str
    gpu: bool = field(compare=False)


def jobs_in_log(text: str, local: bool) -> set[Job]:
    """Jobs a Snakemake log announces as ``rule X:`` (scheduled) or, ``local``, ``localrule X:`` (run here)."""
    jobs = set()
    for block in JOB_BLOCK.finditer(ECHOED_LOG.sub("", text)):
        if block["kind"].startswith("local") != local:
            continue
        wildcards = WILDCARDS.search(block["body"])
        resources = RESOURCES.search(block["body"])
        gpu = bool(resources and re.search(r"\bgpu=[1-9]", resources[1]))
        jobs.add(Job(block["rule"], wildcards[1] if wildcards else "", gpu))
    return jobs


class Snakemake:
    """``snakemake args`` started in its own process group, waited for with a time limit.

    The SLURM plugin can ignore SIGTERM while it waits for job states, so a plain
    ``subprocess.run(timeout=...)`` could leave it (and its children) behind: on timeout the whole
    group is terminated, then killed.
    """

    def __init__(self, args: Sequence[str], cwd: Path) -> None:
        self.args = list(args)
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            [SNAKEMAKE, *args],
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def wait(self, timeout_s: float = RUN_TIMEOUT_S) -> tuple[str, float]:
        """The output and wall time of a successful run; fail the test otherwise."""
        try:
            output, _ = self.process.communicate(timeout=max(1.0, timeout_s - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            output = self.stop()
            pytest.fail(f"snakemake {' '.join(self.args)} ran over {timeout_s} s:\n{output[-6000:]}")
        if self.process.returncode != 0:
            pytest.fail(f"snakemake {' '.join(self.args)} failed ({self.process.returncode}):\n{output[-8000:]}")
        return output, time.monotonic() - self.started

    def stop(self) -> str:
        """Terminate, then kill, the whole process group; return what it printed."""
        if self.process.returncode is not None:  # already waited for
            return ""
        output = ""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)
            try:
                output, _ = self.process.communicate(timeout=10)
                break
            except subprocess.TimeoutExpired:
                continue
        return output or ""


def slurm_jobs(run_id: str) -> list[dict[str, str]]:
    """``scontrol show job`` records of one Snakemake run (the plugin names every job by its run ID)."""
    shown = subprocess.run(["scontrol", "show", "job", "--oneliner"], capture_output=True, text=True, check=True)
    records = [dict(re.findall(r"(?:^|\s)([^\s=]+)=(\S*)", line)) for line in shown.stdout.splitlines()]
    return sorted((r for r in records if r.get("JobName") == run_id), key=lambda r: int(r["JobId"]))


def jobs_run_by(record: dict[str, str]) -> set[Job]:
    """The Snakemake jobs a SLURM job executed, read from its SLURM log."""
    return jobs_in_log(Path(record["StdOut"]).read_text(), local=True)


# Test-only groups: the CPU jobs of each module before its training, its reference products, the
# evaluation after it and its report, each in one allocation (a group may not both feed and follow a
# job outside it, so these apart), and independent jobs of one group packed together
# (:data:`TEST_GROUP_COMPONENTS`). Each SLURM job costs two Snakemake start-ups (the batch script and
# its job step), several seconds of CPU: on the test machine's 2 cores that, not the work, is what
# small SLURM jobs spend their time on. GPU jobs keep one allocation each, as on a real cluster; the
# shipped groups are checked by test_the_real_profiles_groups_plan_a_valid_dag.
TEST_GROUPS = {
    **dict.fromkeys(("cbh_flights", "cbh_geometry", "cbh_era5", "cbh_cache", "cbh_folds"), "cbh_data"),
    **dict.fromkeys(("cbh_baselines", "cbh_ridge", "cbh_gbdt", "cbh_oracle", "cbh_gbdt_pooled"), "cbh_eval"),
    **dict.fromkeys(("riskseg_scene", "riskseg_tiles", "riskseg_oversample"), "riskseg_data"),
    **dict.fromkeys(
        ("riskseg_baseline", "riskseg_oracle", "riskseg_reference_decision", "riskseg_reference_score"),
        "riskseg_reference",
    ),
    **dict.fromkeys(("riskseg_ensemble", "riskseg_crf", "riskseg_score"), "riskseg_eval"),
    **dict.fromkeys(("downscale_fields", "downscale_oracle"), "downscale_data"),
    **dict.fromkeys(("downscale_baseline", "downscale_score"), "downscale_eval"),
    **dict.fromkeys(
        (
            "comparisons",
            "nowcast_table",
            "nowcast_loss_shares",
            "cbh_results",
            "riskseg_results",
            "downscale_results",
            "downscale_write_up",
        ),
        "report",  # one per module: its comparisons and the tables that follow them
    ),
}
# cbh_eval's baselines, ridge, trees and oracle are independent jobs per fold, all ready at once.
TEST_GROUP_COMPONENTS = {"cbh_eval": 10}


def groups_for_the_test(profile: dict) -> tuple[dict[str, str], dict[str, int]]:
    """The profile's groups with :data:`TEST_GROUPS` laid over them, and the group components: the
    profile's for the groups left, and :data:`TEST_GROUP_COMPONENTS`."""
    groups = {**profile["groups"], **TEST_GROUPS}
    components = {group: n for group, n in profile["group-components"].items() if group in groups.values()}
    return groups, {**components, **TEST_GROUP_COMPONENTS}


def write_test_profile(directory: Path, regroup: bool = True) -> Path:
    """The real profile plus :data:`TEST_CLUSTER_SETTINGS` and, with ``regroup``, :data:`TEST_GROUPS`; nothing else."""
    profile = yaml.safe_load(PROFILE.read_text())
    profile.update(TEST_CLUSTER_SETTINGS)
    if regroup:
        groups, components = groups_for_the_test(profile)
        profile.update(groups=groups, **{"group-components": components})
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.yaml").write_text(yaml.safe_dump(profile, sort_keys=False))
    return directory


def profile_setting(rule: str | None, key: str) -> str:
    """A resource of ``rule`` in the real profile (``None``: its default-resources)."""
    profile = yaml.safe_load(PROFILE.read_text())
    resources = profile["default-resources"] if rule is None else profile["set-resources"][rule]
    return str(resources[key])


def profile_partitions() -> list[str]:
    """Partitions the real profile submits to (default first), so the test cluster has them all."""
    profile = yaml.safe_load(PROFILE.read_text())
    names = [profile["default-resources"]["slurm_partition"]]
    names += [r["slurm_partition"] for r in profile["set-resources"].values() if "slurm_partition" in r]
    return list(dict.fromkeys(names))


def write_config(workdir: Path) -> str:
    """config/test.yaml with fewer nowcast models and more epochs (see the module docstring)."""

    def shorten(config: dict) -> None:
        nowcast = config["nowcast"]
        nowcast["models"] = {name: {**nowcast["models"][name], "seeds": [KILLED_SEED]} for name in KEEP_MODELS}
        nowcast["baselines"] = list(KEEP_BASELINES)
        nowcast["train"]["epochs"] = EPOCHS
        nowcast["comparison"] = {"headline": KEEP_MODELS[0], "write_up": []}  # only entries that run
        # the physics weight's candidates are SGT trainings like nowcast_train's (same script, GPU
        # partition in the profile); left out to keep the cluster run short
        nowcast.pop("loss_choice")
        cbh = config["cbh"]  # two folds, one network variant: every cbh rule kind, few jobs
        cbh["flights"] = cbh["flights"][:2]
        cbh["models"] = {"concat": cbh["models"]["concat"]}
        cbh["comparison"] = {"headline": "concat", "write_up": []}
        riskseg = config["riskseg"]  # the full variant alone, one seed: every riskseg rule kind, few jobs
        full = riskseg["comparison"]["full"]
        riskseg["variants"] = {full: {**riskseg["variants"][full], "seeds": riskseg["variants"][full]["seeds"][:1]}}
        riskseg["comparison"] = {"full": full, "v2": None, "ablations": {}}
        downscale = config["downscale"]  # one variant, one sampled epoch: every downscale rule kind
        downscale["variants"] = dict(list(downscale["variants"].items())[:1])
        downscale["comparison"] = {"headline": next(iter(downscale["variants"]))}
        downscale["sampling"]["epochs"] = downscale["sampling"]["epochs"][-1:]

    shutil.copyfile(workdir / "config/test.yaml", workdir / CONFIG)
    edit_config(workdir, shorten, CONFIG)
    return CONFIG


def _more_crf_iterations(config: dict) -> None:
    """An edit of one riskseg setting: only that CRF, the scores, the comparisons and the report depend on it."""
    riskseg = config["riskseg"]
    riskseg["crf"][riskseg["variants"][riskseg["comparison"]["full"]]["crf"]]["iterations"] += 1


class TrainingJobKiller(threading.Thread):
    """Cancel the SLURM job training :data:`KILLED` once it has written its first ``last.pt``."""

    def __init__(self, workdir: Path) -> None:
        super().__init__(daemon=True)
        self.checkpoint = workdir / f"results/nowcast/models/{KILLED}/seed{KILLED_SEED}/run/last.pt"
        self.comment = f"rule_{TRAIN_RULE}_wildcards_{KILLED}_{KILLED_SEED}"
        self.done = threading.Event()
        self.killed_job: str | None = None

    def run(self) -> None:
        while not self.done.is_set():
            if self.checkpoint.exists():
                running = subprocess.run(
                    ["squeue", "-h", "-t", "RUNNING", "-o", "%i %k"], capture_output=True, text=True
                ).stdout.split("\n")
                job_ids = [line.split()[0] for line in running if line.split()[1:] == [self.comment]]
                if job_ids:
                    subprocess.run(["scancel", job_ids[0]], check=True)
                    self.killed_job = job_ids[0]
                    return
            time.sleep(0.05)


@dataclass
class SlurmRun:
    """What one run through the profile left behind."""

    workdir: Path
    log: str
    run_id: str
    seconds: float
    killed_job: str | None = None

    def records(self) -> list[dict[str, str]]:
        return slurm_jobs(self.run_id)


def run_through_profile(workdir: Path, profile: Path, *extra: str, killer: TrainingJobKiller | None = None) -> SlurmRun:
    if killer is not None:
        killer.start()
    try:
        log, seconds = Snakemake(["--profile", str(profile), "--configfile", CONFIG, *extra], workdir).wait()
    finally:
        if killer is not None:
            killer.done.set()
    run_id = RUN_ID.search(log)
    assert run_id, "the SLURM executor did not log its run ID"
    return SlurmRun(workdir, log, run_id[1], seconds, killer.killed_job if killer else None)


# -- fixtures (once per module: the cluster and both runs) ------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    """The test cluster; a machine where it cannot start (e.g. a container without mknod) skips."""
    slurm = SlurmCluster(tmp_path_factory.mktemp("slurm"), partitions=profile_partitions(), **NODE)
    try:
        slurm.__enter__()  # restores /etc/slurm itself if it fails
    except (OSError, RuntimeError, subprocess.CalledProcessError) as error:
        pytest.skip(f"SLURM could not be started here: {error}")
    try:
        yield slurm
    finally:
        slurm.__exit__(None, None, None)


@pytest.fixture(scope="module")
def test_profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_test_profile(tmp_path_factory.mktemp("profile") / "slurm-test")


@pytest.fixture(scope="module")
def local_started(tmp_path_factory: pytest.TempPathFactory):
    """The local reference run, started in the background: it overlaps the SLURM run, which mostly
    waits for the scheduler, and so costs little extra wall time."""
    workdir = copy_workflow(tmp_path_factory.mktemp("local") / "wf")
    write_config(workdir)
    run = Snakemake(["--cores", "2", "--configfile", CONFIG], workdir)
    yield workdir, run
    run.stop()


@pytest.fixture(scope="module")
def local_run(local_started: tuple[Path, Snakemake]) -> Path:
    workdir, run = local_started
    run.wait()
    return workdir


@pytest.fixture(scope="module")
def slurm_run(
    cluster: SlurmCluster, test_profile: Path, local_started: object, tmp_path_factory: pytest.TempPathFactory
) -> SlurmRun:
    workdir = copy_workflow(tmp_path_factory.mktemp("slurm_run") / "wf")
    write_config(workdir)
    return run_through_profile(workdir, test_profile, killer=TrainingJobKiller(workdir))


# -- tests -------------------------------------------------------------------------------------------


def test_every_job_runs_inside_a_slurm_job(slurm_run: SlurmRun) -> None:
    scheduled = jobs_in_log(slurm_run.log, local=False)
    ran_locally = {job.rule for job in jobs_in_log(slurm_run.log, local=True)}
    assert ran_locally <= LOCAL_RULES, f"jobs ran on the submitting machine: {ran_locally - LOCAL_RULES}"
    assert ran_locally >= LOCAL_RULES - {"all"}, f"local rules that did not run: {LOCAL_RULES - ran_locally}"
    executed = set().union(*(jobs_run_by(record) for record in slurm_run.records()))
    assert {job.rule for job in scheduled} >= {TRAIN_RULE, "nowcast_fetch", "cbh_flights", "riskseg_scene"}
    assert scheduled == executed, (
        f"scheduled but not run in SLURM: {scheduled - executed}; run in SLURM unscheduled: {executed - scheduled}"
    )


def test_training_jobs_request_a_gpu_and_data_jobs_do_not(slurm_run: SlurmRun) -> None:
    gpu_partition = profile_setting(TRAIN_RULE, "slurm_partition")
    assert {profile_setting(rule, "slurm_partition") for rule in GPU_RULES} == {gpu_partition}
    cpu_partition = profile_setting(None, "slurm_partition")
    gpu_jobs = 0
    for record in slurm_run.records():
        jobs = jobs_run_by(record)
        where = f"SLURM job {record['JobId']} ({sorted(j.rule for j in jobs)})"
        wants_gpu = {job.gpu for job in jobs}
        assert len(wants_gpu) == 1, f"{where} ran no Snakemake job, or mixed GPU and CPU jobs"
        if wants_gpu.pop():
            gpu_jobs += 1
            assert record.get("TresPerJob") == "gres:gpu:1", f"{where} did not request a GPU: {record}"
            assert record["Partition"] == gpu_partition, where
            assert all(job.rule in GPU_RULES for job in jobs), where
        else:
            assert "gpu" not in record.get("TresPerJob", ""), f"{where} requested a GPU: {record}"
            assert record["Partition"] == cpu_partition, where
    # each nowcast model trains and forecasts; cbh pretrains and trains one variant for each of 2 folds
    assert gpu_jobs >= 2 * len(KEEP_MODELS) + 4, "every training and model-forecast job must have had a GPU"


def test_a_cancelled_training_job_is_resubmitted_and_resumes(slurm_run: SlurmRun) -> None:
    assert slurm_run.killed_job, f"the {KILLED} training job finished before it could be cancelled"
    attempts = [
        r for r in slurm_run.records() if Job(TRAIN_RULE, f"model={KILLED}, seed={KILLED_SEED}", True) in jobs_run_by(r)
    ]
    states = [(r["JobId"], r["JobState"]) for r in attempts]
    assert [state for _, state in states] == ["CANCELLED", "COMPLETED"], states
    assert attempts[0]["JobId"] == slurm_run.killed_job
    first_mb = int(re.match(r"(\d+) \* attempt", profile_setting(TRAIN_RULE, "mem_mb"))[1])
    memory = [round(float(r["MinMemoryNode"][:-1]) * MEMORY_UNITS[r["MinMemoryNode"][-1]]) for r in attempts]
    assert memory == [first_mb, 2 * first_mb], "the retry (attempt 2) must ask for twice the memory"

    run_dir = slurm_run.workdir / f"results/nowcast/models/{KILLED}/seed{KILLED_SEED}/run"
    train_log = (slurm_run.workdir / f"results/logs/nowcast/{TRAIN_RULE}/{KILLED}/seed{KILLED_SEED}.log").read_text()
    assert re.search(r"resuming from \S*last\.pt after epoch \d+", train_log), train_log[-3000:]
    history = (run_dir / "history.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in history] == list(range(1, EPOCHS + 1))


def test_results_equal_the_local_run(slurm_run: SlurmRun, local_run: Path) -> None:
    differences = compare_trees(local_run, slurm_run.workdir)
    assert not differences, "\n".join(differences[:50])


def test_editing_one_experiment_submits_only_its_jobs(
    slurm_run: SlurmRun, test_profile: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    workdir = tmp_path_factory.mktemp("rerun") / "wf"
    shutil.copytree(slurm_run.workdir, workdir, symlinks=True)
    edit_config(workdir, _more_crf_iterations, CONFIG)

    mtime_only, _ = Snakemake(
        ["-n", "--cores", "1", "--configfile", CONFIG, "--rerun-triggers", "mtime"], workdir
    ).wait()
    assert not jobs_in_log(mtime_only, local=False), "with --rerun-triggers mtime a config edit alone reruns nothing"

    rerun = run_through_profile(workdir, test_profile)
    submitted = set().union(*(jobs_run_by(record) for record in rerun.records()))
    assert submitted, "the edited experiment's jobs must be resubmitted"
    rerun_rules = {"riskseg_crf", "riskseg_score", "comparisons", "riskseg_results"}
    assert {job.rule for job in submitted} == rerun_rules, submitted
    assert {job.rule for job in jobs_in_log(rerun.log, local=False)} - {"all"} == {job.rule for job in submitted}
    assert {job.rule for job in jobs_in_log(rerun.log, local=True)} - {"all"} == LOCAL_RULES - {"all"}


def test_the_real_profiles_groups_plan_a_valid_dag(tmp_path: Path) -> None:
    """The shipped ``groups``/``group-components`` (replaced in the runs above) form group jobs.

    A dry run through the unchanged profile (plus the test cluster's settings) must plan a group job
    for every shipped group, except ``nowcast_fetch``: its jobs exist only once the source catalog
    (nowcast_catalog is a checkpoint) has been read.
    """
    workdir = copy_workflow(tmp_path / "wf")
    write_config(workdir)
    profile = write_test_profile(tmp_path / "profile", regroup=False)
    output, _ = Snakemake(["-n", "--profile", str(profile), "--configfile", CONFIG], workdir).wait(180)
    planned = set(re.findall(r"Group job (\w+) \(jobs in lexicogr\. order\):", output))
    shipped = yaml.safe_load(PROFILE.read_text())["groups"]
    assert planned == set(shipped.values()) - {"nowcast_fetch"}, output[-3000:]
