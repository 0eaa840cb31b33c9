"""A real single-node SLURM cluster on this machine, started and stopped by the tests.

What is needed, and why (measured on a machine of this kind, see shared/notes):
* the config must be ``/etc/slurm/slurm.conf``: the executor plugin's job step clears ``SLURM_*``
  variables, so a ``SLURM_CONF`` elsewhere breaks the inner ``srun``;
* no slurmdbd, so ``sacct`` does not work: the profile must use ``squeue`` for job status and
  ``MinJobAge`` keeps finished jobs visible to it;
* fake GPUs are a ``gpu`` generic resource backed by character devices (``/dev/null``), declared
  with ``AutoDetect=off``, so GPU-requesting jobs are scheduled and get ``CUDA_VISIBLE_DEVICES``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
GRES_CONF = Path("/etc/slurm/gres.conf")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")


def unavailable_reason() -> str | None:
    """Why a SLURM cluster cannot be started here, or None if it can."""
    missing = [b for b in BINARIES if shutil.which(b) is None]
    if missing:
        return f"SLURM binaries not installed ({', '.join(missing)}): apt-get install slurm-wlm munge"
    if os.geteuid() != 0:
        return "starting slurmctld/slurmd needs root"
    if not Path("/etc/munge/munge.key").exists():
        return "/etc/munge/munge.key is missing (installed by the munge package)"
    return None


def _memory_mb() -> int:
    with open("/proc/meminfo") as meminfo:
        total_kb = int(next(line for line in meminfo if line.startswith("MemTotal")).split()[1])
    return int(total_kb / 1024 * 0.8)


def slurm_conf(
    state_dir: Path, cpus: int, memory_mb: int, gpus: int, partitions: Sequence[str], overrides: bool = False
) -> str:
    """slurm.conf for one node called ``localhost`` with ``gpus`` fake GPUs, in every partition.

    The first partition is the default one. Several names on the same node let a test submit with
    a real cluster's profile unchanged (its ``cpu`` and ``gpu`` partitions both exist here).
    ``overrides`` makes slurmd believe the configured CPUs and memory instead of the hardware's, so
    a profile's real requests (8 CPUs, 32 GB per training job) can be scheduled on a small machine.
    """
    partition_lines = [
        f"PartitionName={name} Nodes=localhost Default={'YES' if i == 0 else 'NO'} MaxTime=INFINITE State=UP"
        for i, name in enumerate(partitions)
    ]
    return "\n".join(
        [
            "ClusterName=atmo-test",
            "SlurmctldHost=localhost",
            "SlurmUser=root",
            "AuthType=auth/munge",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            f"DefMemPerCPU={max(256, memory_mb // (2 * cpus))}",
            "AccountingStorageType=accounting_storage/none",
            "JobAcctGatherType=jobacct_gather/none",
            "MinJobAge=600",
            "ReturnToService=2",
            "SchedulerType=sched/backfill",
            "GresTypes=gpu",
            *(["SlurmdParameters=config_overrides"] if overrides else []),
            f"StateSaveLocation={state_dir}/state",
            f"SlurmdSpoolDir={state_dir}/spool",
            f"SlurmctldPidFile={state_dir}/slurmctld.pid",
            f"SlurmdPidFile={state_dir}/slurmd.pid",
            f"SlurmctldLogFile={state_dir}/slurmctld.log",
            f"SlurmdLogFile={state_dir}/slurmd.log",
            f"NodeName=localhost NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory_mb} Gres=gpu:{gpus} State=UNKNOWN",
            *partition_lines,
            "",
        ]
    )


def _gpu_devices(state_dir: Path, gpus: int) -> list[str]:
    if gpus == 1:
        return ["/dev/null"]
    devices = []
    for index in range(gpus):
        device = state_dir / f"fakegpu{index}"
        subprocess.run(["mknod", str(device), "c", "1", "3"], check=True)
        devices.append(str(device))
    return devices


class SlurmCluster:
    """Context manager: write the configs, start munged, slurmctld and slurmd; stop them on exit."""

    def __init__(
        self,
        state_dir: Path,
        gpus: int = 1,
        partitions: Sequence[str] = ("main",),
        cpus: int | None = None,
        memory_mb: int | None = None,
    ) -> None:
        """``cpus``/``memory_mb`` above this machine's (default: what it has) are taken on trust."""
        self.state_dir = state_dir
        self.gpus = gpus
        self.partitions = tuple(partitions)
        self.cpus = cpus or os.cpu_count() or 1
        self.memory_mb = memory_mb or _memory_mb()
        self.overrides = self.cpus > (os.cpu_count() or 1) or self.memory_mb > _memory_mb()
        self._processes: list[subprocess.Popen] = []
        self._saved: dict[Path, bytes | None] = {}

    def _write_config(self, path: Path, text: str) -> None:
        self._saved[path] = path.read_bytes() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def __enter__(self) -> SlurmCluster:
        try:
            self._start()
        except BaseException:
            self.__exit__(None, None, None)  # restore /etc/slurm and stop what did start
            raise
        return self

    def _start(self) -> None:
        for sub in ("state", "spool"):
            (self.state_dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_config(
            SLURM_CONF,
            slurm_conf(self.state_dir, self.cpus, self.memory_mb, self.gpus, self.partitions, self.overrides),
        )
        gres = [f"NodeName=localhost Name=gpu File={d}" for d in _gpu_devices(self.state_dir, self.gpus)]
        self._write_config(GRES_CONF, "AutoDetect=off\n" + "\n".join(gres) + "\n")
        run_munge = Path("/run/munge")
        run_munge.mkdir(parents=True, exist_ok=True)
        shutil.chown(run_munge, "munge", "munge")
        if subprocess.run(["pgrep", "-x", "munged"], capture_output=True).returncode != 0:
            subprocess.run(["runuser", "-u", "munge", "--", "munged"], check=True)
        self._processes.append(subprocess.Popen(["slurmctld", "-D", "-i"], stderr=subprocess.DEVNULL))
        time.sleep(1)
        self._processes.append(subprocess.Popen(["slurmd", "-D", "-N", "localhost"], stderr=subprocess.DEVNULL))
        self._wait_idle()

    def _wait_idle(self, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        state = ""
        while time.monotonic() < deadline:
            probe = subprocess.run(["sinfo", "-h", "-N", "-o", "%T"], capture_output=True, text=True)
            state = probe.stdout.strip()
            if set(state.split()) == {"idle"}:  # one line per partition the node is in
                return
            time.sleep(0.5)
        log = (
            (self.state_dir / "slurmctld.log").read_text()[-2000:]
            if (self.state_dir / "slurmctld.log").exists()
            else ""
        )
        raise RuntimeError(f"SLURM node not idle after {timeout_s} s (state {state!r})\n{log}")

    def __exit__(self, *exc_info: object) -> None:
        subprocess.run(["scancel", "--user", "root"], capture_output=True)
        for process in reversed(self._processes):
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        self._processes.clear()
        saved, self._saved = self._saved, {}
        for path, content in saved.items():
            if content is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(content)
