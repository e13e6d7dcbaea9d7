"""The sweep engine: one sweep run three ways, its overhead per job, and a paper-scale projection.

1. The same sweep (nine disks, 4 networks of the paper's MLP trained 20 epochs, 5
   snapshots each, landscapes of every layer + the polyhedral complex: 44 jobs of about a
   second or more) run with 1 worker (in this process), 2 joblib workers, and a 2-worker
   Dask LocalCluster (loopback): wall times and ratios. The three stores must be
   identical (checked).
2. The engine's overhead per job: the 1-worker run's wall time minus the time spent
   inside the bare functions (the training, each analysis's compute), both measured in
   the same run, so load from other processes cannot open a gap between two runs. Target:
   <= 5% on pieces of >= 1 s. For comparison, the same functions in a plain loop (no
   store, marks or executor; one torch and BLAS thread, as the engine runs them), a
   separate run. Worker processes also pay a start-up (imports, compiled kernels loaded
   from numba's cache) once each, measured separately.
3. A measured projection of the activation-landscapes paper's nine-disk sweep
   (configs/nine_disks_paper.toml, 100 networks): one network of that config run in full
   through the engine here (training to 100% and all its analyses), then 100x that on this
   machine's cores and on 64 workers.

    .venv/bin/python benchmarks/bench_sweep.py [--skip-paper]

The machine may be shared: wall times are single runs and noisy; the overhead is the
difference of two runs of the same work, so it is the noisiest number here.
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from nntopo.sweep import load_config, open_results, packaged_config, parse_config, run_sweep
from nntopo.sweep.executors import dask_available

BENCH = {
    "name": "bench",
    "data": {"dataset": "nine_disks", "batches": {"c2": {"label": 1, "every": 4}}},
    "network": {"widths": [2] + [15] * 10 + [2]},
    "training": {"seeds": [0, 1, 2, 3], "epochs": 20, "snapshots": {"every": 5}},
    "analysis": {"landscapes": {"batch": "c2", "levels": 10}, "polyhedral": {"box": [-70.0, 70.0]}},
}


def plain_loop(cfg, folder: Path) -> tuple[float, int]:
    """The sweep's work without the engine: train, load each snapshot, compute each analysis."""
    import torch
    from threadpoolctl import threadpool_limits

    from nntopo.sweep.data import sweep_data

    t0 = time.perf_counter()
    data = sweep_data(cfg)
    torch.set_num_threads(1)
    with threadpool_limits(1):
        n_jobs = _loop(cfg, folder, data)
    return time.perf_counter() - t0, n_jobs


def _loop(cfg, folder: Path, data) -> int:
    from nntopo.nets import MLP, AtEpochs, EveryKEpochs, TrainConfig, load_checkpoint, train
    from nntopo.sweep.analyses import get_analysis
    from nntopo.sweep.data import network_split

    t = cfg.training
    n_jobs = 0
    for n, seed in enumerate(t.seeds):
        train_set, test_set = network_split(cfg, n)
        policies = [EveryKEpochs(t.snapshots.every)] if t.snapshots.every else [AtEpochs(t.snapshots.at_epochs)]
        result = train(MLP(list(cfg.network.widths), seed=seed), train_set, test_set,
                       TrainConfig(epochs=t.epochs, lr=t.lr, batch_size=t.batch_size, seed=seed, num_threads=1),
                       snapshots=policies, out_dir=folder / f"net{n}", network_id=n)
        n_jobs += 1
        for s, row in enumerate(r for r in result.snapshots if r["reached"]):
            net = load_checkpoint(MLP(list(cfg.network.widths)), row, folder / f"net{n}")
            for name, settings in cfg.analyses:
                get_analysis(name).compute(settings, cfg, n, s, net, data)
                n_jobs += 1
    return n_jobs


def _ready() -> float:
    """A worker's first job: import the engine and load the compiled kernels (what every worker pays once)."""
    import importlib

    t0 = time.perf_counter()
    import numpy as np

    from nntopo.landscapes import landscape, rips_persistence

    importlib.import_module("nntopo.sweep.jobs")
    landscape(rips_persistence(np.random.default_rng(0).random((30, 2)))[1], (0.0, 1.0, 0.1), 2)
    return time.perf_counter() - t0


def worker_startup(workers: int) -> float:
    """Seconds until ``workers`` fresh joblib workers have each run their first job."""
    from nntopo.sweep.executors import JoblibExecutor

    t0 = time.perf_counter()
    with JoblibExecutor(workers) as ex:
        for f in [ex.submit(_ready) for _ in range(workers)]:
            f.result()
    return time.perf_counter() - t0


def timed_run(cfg, out: Path, **how):
    t0 = time.perf_counter()
    summary = run_sweep(cfg, out, **how)
    return time.perf_counter() - t0, summary


def fmt(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-paper", action="store_true", help="skip the paper-scale projection (one full network)")
    ap.add_argument("--skip-comparison", action="store_true", help="only the paper-scale projection")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        same = True if args.skip_comparison else comparison(Path(tmp))
        if not args.skip_paper:
            projection(Path(tmp))
    return 0 if same else 1


def comparison(root: Path) -> bool:
    """Part 1 and 2: the sweep three ways, the plain loop, the engine's overhead. True if the stores agree."""
    cfg = parse_config(BENCH, "bench_sweep.py")
    n_snap = len(cfg.snapshots)
    print(f"sweep: {cfg.n_networks} networks x {n_snap} snapshots x {len(cfg.analyses)} analyses "
          f"(MLP {list(cfg.network.widths)}, {cfg.training.epochs} epochs), {os.cpu_count()} cores")
    # warm-up: numba kernels and imports, so that neither way pays them in the timing
    run_sweep(replace(cfg, training=replace(cfg.training, seeds=(9,), epochs=1)), root / "warm", workers=1)
    t_plain, n_jobs = plain_loop(cfg, root / "plain")
    t_one, one = timed_run(cfg, root / "one", workers=1)
    t_two, _ = timed_run(cfg, root / "two", workers=2)
    t_dask = timed_run(cfg, root / "dask", scheduler="local", workers=2)[0] if dask_available() else math.nan
    t_start = worker_startup(2)
    ref = open_results(root / "one").load()
    same = ref.identical(open_results(root / "two").load()) and (
        not dask_available() or ref.identical(open_results(root / "dask").load()))
    print(f"\n{n_jobs} jobs ({cfg.n_networks} train, {n_jobs - cfg.n_networks} analyses), "
          f"{t_plain / n_jobs:.2f} s per job on average in the plain loop")
    print(f"{'way':<34}{'wall':>9}{'vs 1 worker':>13}")
    print(f"{'plain loop (no engine)':<34}{t_plain:>8.1f}s{t_one / t_plain:>12.2f}x")
    print(f"{'1 worker (this process)':<34}{t_one:>8.1f}s{1.0:>12.2f}x")
    print(f"{'2 joblib workers':<34}{t_two:>8.1f}s{t_one / t_two:>12.2f}x")
    print(f"{'2-worker Dask LocalCluster':<34}{t_dask:>8.1f}s{t_one / t_dask:>12.2f}x")
    print(f"stores identical across the three ways: {same}")
    print(f"start-up of 2 fresh joblib workers (imports, kernels): {t_start:.1f} s, paid once per run")
    overhead = (t_one - t_plain) / n_jobs
    print(f"whole-run difference, 1 worker vs plain loop: {overhead * 1e3:+.0f} ms per job "
          f"({100 * overhead / (t_plain / n_jobs):+.1f}%; single runs, noisy on a shared machine)")
    compute = sum(one.compute_seconds.values())
    print(f"engine overhead per job, 1-worker run (its wall time minus the time inside the bare functions, "
          f"measured in the same calls; target <= 5%): {(t_one - compute) / n_jobs * 1e3:.0f} ms = "
          f"{100 * (t_one - compute) / compute:.1f}% of {compute / n_jobs:.2f} s of compute per job")
    for kind in one.ran:
        extra = one.job_seconds[kind] - one.compute_seconds[kind]
        print(f"  {kind:<11} {one.ran[kind]:>3} jobs: {extra / one.ran[kind] * 1e3:6.1f} ms each in the job "
              f"around {one.compute_seconds[kind] / one.ran[kind]:6.3f} s of compute "
              f"({100 * extra / one.compute_seconds[kind]:.1f}%)")
    return same


def projection(root: Path) -> None:
    """Part 3: one network of the paper's nine-disk config through the engine, projected to 100 networks."""
    paper = load_config(packaged_config("nine_disks_paper"))
    one = replace(paper, training=replace(paper.training, seeds=paper.training.seeds[:1]))
    t0 = time.perf_counter()
    summary = run_sweep(one, root / "paper", workers=1)
    t_net = time.perf_counter() - t0
    ds = open_results(root / "paper").load()
    cores = os.cpu_count() or 1
    print(f"\nnine-disk paper sweep ({paper.n_networks} networks, {len(paper.snapshots)} thresholds, "
          f"{len(paper.analysis('landscapes').layers)} layers):")
    print(f"one network measured here: {fmt(t_net)} (training {fmt(summary.job_seconds['train'])} to "
          f"{int(ds['epochs_trained'].values[0])} epochs; {summary.ran.get('landscapes', 0)} landscape jobs "
          f"{fmt(summary.job_seconds.get('landscapes', 0))}; {summary.ran.get('polyhedral', 0)} complexes "
          f"{fmt(summary.job_seconds.get('polyhedral', 0))})")
    longest = summary.job_seconds["train"] + max(
        summary.job_seconds[k] / max(1, summary.ran[k]) for k in ("landscapes", "polyhedral"))
    for workers in (cores, 64):
        estimate = max(paper.n_networks * t_net / workers, longest)
        print(f"projection on {workers:>2} workers: {fmt(estimate)} (100 x one network / {workers}; no run can "
              f"be shorter than one training plus one analysis, {fmt(longest)})")


if __name__ == "__main__":
    raise SystemExit(main())
