"""The sweep engine: config -> jobs -> executor -> one store, resumable.

:func:`run_sweep` checks the config and the output folder, lays the folder out (or
resumes it), and runs every piece that has no mark: the training (or loading) of each
network, then, as each network finishes, every analysis of each of its reached snapshots. Finished
pieces are never run again; a piece whose worker died is resubmitted.
:func:`plan_sweep` counts the jobs and estimates time and memory from a short
calibration run on this machine, without touching the output folder.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from .._validation import check_bool, check_int
from .config import SweepConfig, load_config
from .executors import Executor, make_executor
from .jobs import JobResult, Task, run_task
from .store import SweepStore, check_output, prepare_output

log = logging.getLogger("nntopo")

__all__ = ["SweepSummary", "SweepPlan", "check_sweep", "run_sweep", "plan_sweep", "pending_tasks"]


@dataclass
class SweepSummary:
    """What a run did: the folder, whether it resumed, jobs run and skipped per kind, seconds.

    ``job_seconds`` sums the jobs' own times per kind, ``compute_seconds`` the time inside
    the training or the analysis's compute (the rest is the engine's cost).
    """

    out: Path
    resumed: bool
    executor: str
    ran: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    job_seconds: dict[str, float] = field(default_factory=dict)
    compute_seconds: dict[str, float] = field(default_factory=dict)
    wall_seconds: float = 0.0
    retried: int = 0


def _as_config(config: object) -> SweepConfig:
    if isinstance(config, SweepConfig):
        return config
    if isinstance(config, (str, os.PathLike)):
        return load_config(config)
    raise TypeError(f"config must be a SweepConfig or a path to a TOML file, got {type(config).__name__}")


def _analysis_tasks(store: SweepStore, config: SweepConfig, network: int, reached: list[int]) -> list[Task]:
    return [Task(name, network, s) for s in reached for name, _ in config.analyses
            if not store.is_done(name, network, s)]


def pending_tasks(out: str | os.PathLike, config: SweepConfig) -> tuple[list[Task], dict[str, int]]:
    """The tasks that can start now (unmarked trainings or loads, unmarked analyses of networks
    trained or loaded), and done counts.

    Analyses of networks not trained yet are not listed: they are known only once the
    training says which snapshots were reached.
    """
    store = SweepStore(out)
    tasks: list[Task] = []
    job = config.network_job
    done = {job: 0, **{name: 0 for name, _ in config.analyses}}
    for n in range(config.n_networks):
        if not store.is_done(job, n):
            tasks.append(Task(job, n))
            continue
        done[job] += 1
        reached = [int(s) for s in store.read("snapshot_reached", (n,)).nonzero()[0]]
        todo = _analysis_tasks(store, config, n, reached)
        tasks += todo
        for name, _ in config.analyses:
            done[name] += len(reached) - sum(t.kind == name for t in todo)
    return tasks, done


class _Progress:
    """A rich bar per job kind (done/total, elapsed, ETA) on stderr; silent when disabled or not a TTY."""

    def __init__(self, totals: dict[str, int], done: dict[str, int], enabled: bool) -> None:
        self._bar = None
        self._ids: dict[str, int] = {}
        if not (enabled and sys.stderr.isatty()):
            return
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn, TimeRemainingColumn

        self._bar = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                             TimeElapsedColumn(), TimeRemainingColumn(), transient=True)
        for kind, total in totals.items():
            self._ids[kind] = self._bar.add_task(kind, total=total, completed=done.get(kind, 0))

    def __enter__(self) -> _Progress:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    def advance(self, kind: str) -> None:
        if self._bar is not None:
            self._bar.advance(self._ids[kind])

    def shrink(self, kind: str, by: int) -> None:
        """Lower a total (snapshots a network never reached have no analysis jobs)."""
        if self._bar is not None and by:
            task = self._bar.tasks[self._ids[kind]]
            self._bar.update(self._ids[kind], total=task.total - by)


def _execute(executor: Executor, out: str, config: SweepConfig, tasks: list[Task], summary: SweepSummary,
             progress: _Progress, retries: int) -> None:
    store = SweepStore(out)
    in_flight: dict = {}
    attempts: dict[Task, int] = {}
    n_snapshots = len(config.snapshots)

    def submit(task: Task) -> None:
        attempts[task] = attempts.get(task, 0) + 1
        in_flight[executor.submit(run_task, out, config, task)] = task

    for task in tasks:
        submit(task)
    try:
        while in_flight:
            for future in executor.wait(list(in_flight)):
                task = in_flight.pop(future)
                try:
                    result: JobResult = future.result()
                except Exception as exc:
                    if executor.worker_died(exc) and attempts[task] <= retries:
                        log.warning("%s: its worker died (%s); running it again", task, type(exc).__name__)
                        summary.retried += 1
                        submit(task)
                        continue
                    raise
                summary.ran[task.kind] = summary.ran.get(task.kind, 0) + 1
                summary.job_seconds[task.kind] = summary.job_seconds.get(task.kind, 0.0) + result.seconds
                summary.compute_seconds[task.kind] = (summary.compute_seconds.get(task.kind, 0.0)
                                                      + result.compute_seconds)
                progress.advance(task.kind)
                log.debug("%s done in %.2f s", task, result.seconds)
                if task.snapshot is None:  # a network trained or loaded: its analyses can start
                    for name, _ in config.analyses:
                        progress.shrink(name, n_snapshots - len(result.reached))
                    for t in _analysis_tasks(store, config, task.network, list(result.reached)):
                        submit(t)
    except BaseException:
        for future in in_flight:
            future.cancel()
        raise


def _check_run_args(workers: object, scheduler: object, retries: object) -> tuple[int | None, str | None, int]:
    if workers is not None:
        workers = check_int(workers, "workers", minimum=1)
    if scheduler is not None and not isinstance(scheduler, str):
        raise TypeError(f"scheduler must be an address (str) or 'local', got {type(scheduler).__name__}")
    if scheduler == "":
        raise ValueError("scheduler is empty; give an address such as tcp://host:8786, or 'local'")
    if workers is not None and scheduler is not None and scheduler != "local":
        raise ValueError("workers, scheduler: --workers sets processes on this machine and --scheduler names a "
                         "cluster; give one of them (with --scheduler local, --workers sets its size)")
    if scheduler is not None:
        from .executors import dask_available

        if not dask_available():
            raise ValueError("scheduler: Dask distributed is not installed; pip install 'nntopo[dask]'")
    return workers, scheduler, check_int(retries, "retries", minimum=0)


def check_sweep(config: SweepConfig | str | os.PathLike, out: str | os.PathLike, *, workers: int | None = None,
                scheduler: str | None = None) -> tuple[SweepConfig, Path, bool]:
    """Check a run's arguments without creating anything: (config, absolute folder, resuming)."""
    cfg = _as_config(config)
    _check_run_args(workers, scheduler, 2)
    target, resuming = check_output(out, cfg)
    return cfg, target, resuming


def run_sweep(
    config: SweepConfig | str | os.PathLike,
    out: str | os.PathLike,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = False,
    retries: int = 2,
) -> SweepSummary:
    """Run (or resume) the sweep of ``config`` (a :class:`SweepConfig` or a TOML path) into ``out``.

    ``workers``: joblib worker processes on this machine (default: one per core; 1 runs
    in this process). ``scheduler``: a Dask scheduler address, or "local" for a
    LocalCluster of ``workers`` (default 2) processes on 127.0.0.1. ``retries``: how often
    a job whose worker died is run again. ``progress``: rich bars on stderr (only on a
    terminal).

    Everything is checked before anything is created: a bad config is a ``ConfigError``
    naming the file and key, an ``out`` holding anything but a sweep of the same config a
    ``FileExistsError`` (the folder is left untouched). A folder of the same config is
    resumed: only pieces without marks run. Returns a :class:`SweepSummary`.
    """
    start = time.perf_counter()
    cfg = _as_config(config)
    workers, scheduler, retries = _check_run_args(workers, scheduler, retries)
    progress = check_bool(progress, "progress")
    target, resumed = prepare_output(out, cfg)
    tasks, done = pending_tasks(target, cfg)
    n_nets, n_snaps = cfg.n_networks, len(cfg.snapshots)
    totals = {cfg.network_job: n_nets}
    for name, _ in cfg.analyses:
        # untrained networks may reach every snapshot; trained ones are counted exactly
        trained_reached = done[name] + sum(t.kind == name for t in tasks)
        totals[name] = trained_reached + (n_nets - done[cfg.network_job]) * n_snaps
    with make_executor(workers=workers, scheduler=scheduler, retries=retries) as executor:
        summary = SweepSummary(target, resumed, executor.description,
                               skipped={k: v for k, v in done.items()})
        log.info("sweep %s: %d networks x %d snapshots x %d analyses on %s%s -> %s", cfg.name, n_nets, n_snaps,
                 len(cfg.analyses), executor.description, " (resuming)" if resumed else "", target)
        with _Progress(totals, done, progress) as bars:
            _execute(executor, str(target), cfg, tasks, summary, bars, retries)
    summary.wall_seconds = time.perf_counter() - start
    log.info("sweep %s finished in %.1f s: ran %s; already done %s", cfg.name, summary.wall_seconds,
             summary.ran or "nothing", summary.skipped)
    return summary


# --------------------------------------------------------------------------- the plan


@dataclass
class SweepPlan:
    """Job counts per kind (analyses: at most, if every snapshot is reached), the calibration
    measurements (seconds per training epoch, seconds per analysis job, peak memory of the
    calibrating process in bytes) and the estimated wall time on ``workers`` processes."""

    config: SweepConfig
    jobs: dict[str, int]
    workers: int
    epoch_seconds: float
    analysis_seconds: dict[str, float]
    peak_memory_bytes: int
    estimate_seconds: float
    network_seconds: float
    calibration_seconds: float


def _calibrate(config: SweepConfig, epochs: int) -> dict:
    """Train (or load) network 0 for ``epochs`` epochs and run each analysis once on the result; time it.

    Runs in a fresh worker process so that its peak memory is a worker's. For loaded
    networks "epoch_seconds" is the load job's time (their history has one epoch).
    """
    import resource
    from dataclasses import replace

    from .config import SnapshotConfig, TrainingConfig

    t = config.training
    if t is None:
        short = replace(config, network=replace(config.network, checkpoints=config.network.checkpoints[:1]))
        epochs = 0
    else:
        short = replace(config, training=TrainingConfig(
            seeds=t.seeds[:1], epochs=epochs, lr=t.lr, batch_size=t.batch_size, stop_at_accuracy=None,
            snapshots=SnapshotConfig(at_epochs=(epochs,))))
    with tempfile.TemporaryDirectory(prefix="nntopo-plan-") as tmp:
        folder, _ = prepare_output(Path(tmp) / "run", short)
        first = run_task(str(folder), short, Task(short.network_job, 0))
        seconds = {name: run_task(str(folder), short, Task(name, 0, 0)).seconds for name, _ in short.analyses}
    return {"epoch_seconds": first.seconds / (epochs + 1), "analysis_seconds": seconds,
            "peak_memory_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}


def plan_sweep(config: SweepConfig | str | os.PathLike, *, workers: int | None = None,
               calibration_epochs: int = 3) -> SweepPlan:
    """Count the jobs of a sweep and estimate its time and memory from a short calibration run.

    The calibration trains network 0 for ``calibration_epochs`` epochs and runs every
    analysis once on that network, in one fresh process of this machine. The estimate
    assumes every network trains for all its epochs (an upper bound when training stops
    at an accuracy) and that analyses cost what they cost on that early network (complexes
    grow during training, so late snapshots can cost more). Nothing is written outside a
    temporary folder.
    """
    from joblib.externals.loky import ProcessPoolExecutor

    cfg = _as_config(config)
    n_workers = (os.cpu_count() or 1) if workers is None else check_int(workers, "workers", minimum=1)
    calibration_epochs = check_int(calibration_epochs, "calibration_epochs", minimum=1)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=1) as pool:
        cal = pool.submit(_calibrate, cfg, calibration_epochs).result()
    n, s = cfg.n_networks, len(cfg.snapshots)
    jobs = {cfg.network_job: n, **{name: n * s for name, _ in cfg.analyses}}
    network = cal["epoch_seconds"] * cfg.n_epochs + s * sum(cal["analysis_seconds"].values())
    return SweepPlan(cfg, jobs, n_workers, cal["epoch_seconds"], cal["analysis_seconds"], cal["peak_memory_bytes"],
                     estimate_seconds=network * n / min(n_workers, max(1, n * (1 + s * len(cfg.analyses)))),
                     network_seconds=network, calibration_seconds=time.perf_counter() - start)
