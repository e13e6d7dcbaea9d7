"""Where a sweep's jobs run, behind one small interface.

* :class:`SerialExecutor`: in this process, one job after another (``workers=1``).
* :class:`JoblibExecutor`: joblib's process pool (loky) on this machine (``workers=N``).
* :class:`DaskExecutor`: a Dask distributed cluster (``scheduler="tcp://HOST:8786"``),
  or a LocalCluster of worker processes on the loopback interface (``scheduler="local"``).

Each submits ``fn(*args)`` and hands back a future; the engine waits for the first ones
to finish. Every worker process runs one job at a time with one torch thread. A job
whose worker process dies is run again: on joblib the engine resubmits it to a fresh
pool (:meth:`Executor.worker_died` tells it so); on Dask the scheduler reschedules it on
another worker (``distributed.scheduler.allowed-failures``), and ``retries`` covers jobs
that raise.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
from abc import ABC, abstractmethod
from typing import Any, Callable

from .._validation import check_int

log = logging.getLogger("nntopo")

__all__ = ["Executor", "SerialExecutor", "JoblibExecutor", "DaskExecutor", "make_executor", "dask_available"]

# Thread pools of BLAS/OpenMP in worker processes: one thread each (set before they import numpy).
_ONE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


class Executor(ABC):
    """Runs jobs somewhere; the engine only submits, waits and reads results."""

    #: number of jobs that can run at once
    workers: int
    #: a few words for logs and the plan
    description: str

    @abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Start ``fn(*args)``; return a future (``result()`` gives the value or raises)."""

    @abstractmethod
    def wait(self, futures: list) -> list:
        """Block until at least one of ``futures`` is finished; return the finished ones."""

    def worker_died(self, exc: BaseException) -> bool:
        """True if ``exc`` means the worker process died (the job should run again elsewhere)."""
        return False

    def close(self, abort: bool = False) -> None:
        """Release the workers; ``abort``: stop jobs still running (after an error or Ctrl-C)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.close(abort=exc_type is not None)


class SerialExecutor(Executor):
    """Runs the jobs in this process, one at a time, in the order they were submitted, as they are waited for."""

    workers = 1
    description = "this process"

    def __init__(self) -> None:
        self._queue: dict[cf.Future, tuple] = {}

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        future: cf.Future = cf.Future()
        self._queue[future] = (fn, args)
        return future

    def wait(self, futures: list) -> list:
        done = [f for f in futures if f.done()]
        if done:
            return done
        wanted = set(futures)
        future = next(f for f in self._queue if f in wanted)  # the engine waits on all: the first one, at once
        fn, args = self._queue.pop(future)
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # handed to the engine through the future, like a worker's error
            future.set_exception(exc)
        return [future]


def _exit_with_parent(parent: int, interval: float = 0.5) -> None:
    """Worker initializer: exit as soon as the process that started the pool is gone.

    loky workers otherwise wait for work until their idle timeout when the run is killed
    with SIGKILL (which nothing can catch), holding their memory; the job they were
    running has no mark and is done again by the next run.
    """
    import threading
    import time

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os._exit(1)

    threading.Thread(target=watch, name="nntopo-parent-watch", daemon=True).start()


class JoblibExecutor(Executor):
    """joblib's loky process pool with ``workers`` processes on this machine.

    If a worker process dies (killed, out of memory), loky marks the pool broken and every
    job in flight fails with ``TerminatedWorkerError``; the next :meth:`submit` starts a
    fresh pool, so the engine can resubmit those jobs.
    """

    def __init__(self, workers: int) -> None:
        self.workers = check_int(workers, "workers", minimum=1)
        self.description = f"{self.workers} joblib worker processes"
        self._pool = None

    def _new_pool(self):
        import warnings

        from joblib.externals.loky import ProcessPoolExecutor

        # loky replaces a worker whose memory grew past its leak threshold (torch and numba
        # caches grow it) and warns "A worker stopped while some jobs were given to the
        # executor"; no job is lost, so for a user the warning is noise. Only that warning
        # from loky is silenced: a worker that dies mid-job still fails its job.
        warnings.filterwarnings("ignore", message="A worker stopped while some jobs were given to the executor",
                                category=UserWarning, module="joblib.externals.loky")
        return ProcessPoolExecutor(max_workers=self.workers, env=_ONE_THREAD_ENV, initializer=_exit_with_parent,
                                   initargs=(os.getpid(),))

    def submit(self, fn: Callable[..., Any], *args: Any) -> cf.Future:
        from joblib.externals.loky.process_executor import BrokenProcessPool

        if self._pool is None:
            self._pool = self._new_pool()
        try:
            return self._pool.submit(fn, *args)
        except (BrokenProcessPool, RuntimeError):
            log.warning("the worker pool broke (a worker process died): starting a new one")
            self._pool.shutdown(wait=False, kill_workers=True)
            self._pool = self._new_pool()
            return self._pool.submit(fn, *args)

    def wait(self, futures: list) -> list:
        done, _ = cf.wait(futures, return_when=cf.FIRST_COMPLETED)
        return list(done)

    def worker_died(self, exc: BaseException) -> bool:
        from joblib.externals.loky.process_executor import BrokenProcessPool

        return isinstance(exc, BrokenProcessPool)

    def close(self, abort: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=not abort, kill_workers=abort)
            self._pool = None


def dask_available() -> bool:
    """True if ``dask.distributed`` can be imported (the ``nntopo[dask]`` extra)."""
    from importlib.util import find_spec

    return find_spec("distributed") is not None


class DaskExecutor(Executor):
    """A Dask distributed client: ``address`` of a running scheduler, or "local" for a LocalCluster.

    The LocalCluster has ``workers`` single-threaded worker processes listening on
    127.0.0.1 only, no dashboard. ``retries``: how often a job that raises is run again.
    Jobs are submitted with ``pure=False`` (each run is a fresh task) and one thread per
    job; a worker that dies mid-job has its job rescheduled by the scheduler.
    """

    def __init__(self, address: str, workers: int | None = None, retries: int = 2) -> None:
        if not dask_available():
            raise ValueError("scheduler: Dask distributed is not installed; pip install 'nntopo[dask]'")
        from distributed import Client, LocalCluster

        if not isinstance(address, str) or not address:
            raise TypeError(f"scheduler must be an address such as tcp://host:8786 or 'local', got {address!r}")
        self.retries = check_int(retries, "retries", minimum=0)
        self._cluster = None
        if address == "local":
            n = 2 if workers is None else check_int(workers, "workers", minimum=1)
            self._cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                         dashboard_address=None, env=_ONE_THREAD_ENV)
            self._client = Client(self._cluster)
        else:
            self._client = Client(address, timeout="20s")
        n_threads = sum(self._client.nthreads().values())
        self.workers = max(1, n_threads)
        self.description = (f"Dask LocalCluster, {self.workers} worker processes on 127.0.0.1" if self._cluster
                            else f"Dask scheduler {address}, {self.workers} worker threads")

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._client.submit(fn, *args, pure=False, retries=self.retries)

    def wait(self, futures: list) -> list:
        from distributed import wait

        done, _ = wait(futures, return_when="FIRST_COMPLETED")
        return list(done)

    def close(self, abort: bool = False) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(workers: int | None = None, scheduler: str | None = None, retries: int = 2) -> Executor:
    """The executor for ``workers`` (joblib processes; 1: this process) or ``scheduler`` (Dask).

    Give at most one of the two. Default: joblib with one process per CPU core.
    """
    if workers is not None and scheduler is not None and scheduler != "local":
        raise ValueError("workers, scheduler: give --workers for this machine or --scheduler for a cluster, not both")
    if scheduler is not None:
        return DaskExecutor(scheduler, workers=workers, retries=retries)
    n = (os.cpu_count() or 1) if workers is None else check_int(workers, "workers", minimum=1)
    return SerialExecutor() if n == 1 else JoblibExecutor(n)
