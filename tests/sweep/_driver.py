"""Runs a sweep in a child process for the kill tests (not a test module).

usage: python _driver.py CONFIG OUT CALLS [--workers N | --scheduler local] [--kill-once FLAG] [--slow S]

Every job appends "START kind network snapshot" to CALLS when it starts and
"END ..." when it returns, so a test can count which pieces ran. With --kill-once, the
first job to start while FLAG does not exist creates FLAG and SIGKILLs its own worker
process a moment later, mid-job. --slow S makes every job sleep S seconds after it starts
(room for a test to kill the whole run between pieces).
"""

import argparse
import os
import signal
import threading
import time

import nntopo.sweep.run as engine
from nntopo.sweep.jobs import run_task as real_run_task


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("config")
    p.add_argument("out")
    p.add_argument("calls")
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--scheduler", default=None)
    p.add_argument("--kill-once", default=None)
    p.add_argument("--slow", type=float, default=0.0)
    args = p.parse_args()
    calls, kill_flag, slow = args.calls, args.kill_once, args.slow

    def counted(out, config, task):
        label = f"{task.kind} {task.network} {task.snapshot}"
        with open(calls, "a") as fh:
            fh.write(f"START {label} {os.getpid()}\n")
        if kill_flag is not None:
            try:
                fd = os.open(kill_flag, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pass
            else:
                os.close(fd)
                threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGKILL)).start()
        time.sleep(slow)
        result = real_run_task(out, config, task)
        with open(calls, "a") as fh:
            fh.write(f"END {label} {os.getpid()}\n")
        return result

    engine.run_task = counted
    engine.run_sweep(args.config, args.out, workers=args.workers, scheduler=args.scheduler, retries=2)


if __name__ == "__main__":
    main()
