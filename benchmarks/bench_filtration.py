"""Benchmark: random-filtration Betti curves (nntopo.polyhedral.filtration) on one complex.

Builds the complex of the [2, 200, 200, 200] network of ``bench_polyhedral.torch_like_net``
(torch's default initialisation drawn by numpy, seed 0; about 270,000 cells on
[-1, 1]^2) and times, in the same run:

* ``betti_curves(cx, n_trials=100, seed=0)`` (the fast path: union-find and the Euler
  characteristic), curves and averaging included, against the issue's 0.5 s target; with
  numba's default thread count and with one thread;
* the general Z/2 twist reduction (``method="reduction"``) on a few trials of the same
  orders, per trial and scaled to 100 trials, and a check that its curves equal the fast
  path's;
* lophat (``compute_pairings``, its default lock-free reduction with clearing) and oineus
  (``Decomposition.reduce``, clearing off since it is handed a bare matrix) on the same
  filtration, when installed: the reduction alone, per trial; the time to build their
  Python column lists is printed apart.

Times are the minimum over ``--repeats`` runs (the machine is shared; the median, and
the process CPU time of the fastest run, are printed too). Run: ``.venv/bin/python benchmarks/bench_filtration.py [--repeats 5]
[--trials 100] [--reduction-trials 3] [--arch 2,200,200,200]``.
"""

from __future__ import annotations

import argparse
import time
from importlib.metadata import PackageNotFoundError, version

import numba
import numpy as np

from nntopo.polyhedral import polyhedral_complex
from nntopo.polyhedral.filtration import betti_curves, betti_summary, filtration_orders

TARGET_S = 0.5


def torch_like_net(widths, seed=0):
    """The network of ``bench_polyhedral.torch_like_net`` (same draws). Not imported from
    there: that module pins numba to one thread on import, and this benchmark times both."""
    rng = np.random.default_rng(seed)
    ws = list(widths) + [1]
    pairs = []
    for i, o in zip(ws[:-1], ws[1:]):
        bound = 1.0 / np.sqrt(i)
        pairs.append((rng.uniform(-bound, bound, (o, i)), rng.uniform(-bound, bound, o)))
    return pairs


def timed(fn, repeats: int) -> tuple[float, float, float, object]:
    """Min and median wall time, and the process CPU time (all threads) of the fastest run."""
    times = []
    out = None
    for _ in range(repeats):
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0, time.process_time() - c0))
    best = min(times)
    return best[0], float(np.median([w for w, _ in times])), best[1], out


def filtration_columns(cx, orders) -> list[tuple[int, list[int]]]:
    """The boundary matrix of one filtration as (dimension, sorted row positions) columns."""
    f = np.asarray(cx.f_vector)
    d = f.shape[0] - 1
    offsets = np.concatenate([[0], np.cumsum(f)])
    pos = [np.empty(n, dtype=np.int64) for n in f]
    for k in range(d + 1):
        pos[k][orders[k]] = offsets[k] + np.arange(f[k])
    cols: list[tuple[int, list[int]]] = [(0, [])] * int(f[0])
    for k in range(1, d + 1):
        B = cx.boundary(k).tocsc()
        B = B[:, orders[k]]
        rows = pos[k - 1][B.indices]
        for j in range(f[k]):
            cols.append((k, sorted(rows[B.indptr[j] : B.indptr[j + 1]].tolist())))
    return cols


def package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:
        return "?"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--trials", type=int, default=100)
    ap.add_argument("--reduction-trials", type=int, default=3)
    ap.add_argument("--arch", default="2,200,200,200")
    args = ap.parse_args()
    arch = [int(x) for x in args.arch.split(",")]

    t0 = time.perf_counter()
    cx = polyhedral_complex(torch_like_net(arch, 0), check="none")
    n = int(cx.f_vector.sum())
    print(f"complex of {arch}: f = {cx.f_vector.tolist()}, {n:,} cells (built in {time.perf_counter() - t0:.2f} s)")

    betti_curves(cx, 2, 0)  # compile (or load numba's cache) outside the timings
    betti_curves(cx, 2, 0, method="reduction")
    threads = numba.get_num_threads()
    best, med, cpu, curves = timed(lambda: betti_curves(cx, args.trials, 0), args.repeats)
    print(f"fast path, {args.trials} trials, {threads} numba thread(s): min {best:.3f} s, median {med:.3f} s "
          f"(CPU {cpu:.3f} s) -> {best / TARGET_S:.2f} x the {TARGET_S} s target")
    numba.set_num_threads(1)
    best1, med1, cpu1, curves1 = timed(lambda: betti_curves(cx, args.trials, 0), args.repeats)
    numba.set_num_threads(threads)
    print(f"fast path, {args.trials} trials, 1 numba thread: min {best1:.3f} s, median {med1:.3f} s "
          f"(CPU {cpu1:.3f} s) -> {best1 / TARGET_S:.2f} x the target")
    assert np.array_equal(curves, curves1)
    s = betti_summary(curves)
    print(f"  peaks (cells added): {s.peak_cells.values.tolist()}, values {np.round(s.peak_value.values, 2).tolist()}, "
          f"critical share (b_1 peak) {s.attrs['critical_share']:.4f}; last row {curves[-1].tolist()}")

    R = args.reduction_trials
    rbest, rmed, _, red = timed(lambda: betti_curves(cx, R, 0, method="reduction"), max(1, args.repeats // 2))
    fast_R = betti_curves(cx, R, 0, method="fast")
    same = np.array_equal(red, fast_R)
    per = rbest / R
    print(f"general reduction (twist), {R} trials, {threads} thread(s): min {rbest:.3f} s ({per:.3f} s per trial, "
          f"~{100 * per:.1f} s for 100); curves equal to the fast path's: {same}")
    fast_per = best / args.trials
    print(f"  reduction / fast path, per trial: {per / fast_per:.1f} x")

    (orders,) = filtration_orders(cx.f_vector, 1, seed=0)
    t0 = time.perf_counter()
    cols = filtration_columns(cx, orders)
    t_cols = time.perf_counter() - t0
    print(f"python column list for the reference libraries: {t_cols:.2f} s (not counted below)")
    try:
        import lophat
    except ImportError:
        print("lophat: not installed (pip install lophat)")
    else:
        lbest, lmed, _, _ = timed(lambda: lophat.compute_pairings(cols), max(1, args.repeats // 2))
        print(f"lophat {package_version('lophat')} compute_pairings, 1 trial: min {lbest:.3f} s "
              f"(median {lmed:.3f}); lophat / nntopo reduction per trial {lbest / per:.1f} x, "
              f"lophat / nntopo fast per trial {lbest / fast_per:.1f} x")
    try:
        import oineus
    except ImportError:
        print("oineus: not installed (pip install oineus)")
    else:
        rows = [c for _, c in cols]

        def run_oineus():
            dec = oineus.Decomposition(rows, len(rows), False, True)
            params = oineus.ReductionParams()
            params.clearing_opt = False
            params.n_threads = threads
            dec.reduce(params)
            return dec

        obest, omed, _, _ = timed(run_oineus, max(1, args.repeats // 2))
        print(f"oineus {package_version('oineus')} Decomposition.reduce, 1 trial: min {obest:.3f} s "
              f"(median {omed:.3f}); oineus / nntopo reduction per trial {obest / per:.1f} x, "
              f"oineus / nntopo fast per trial {obest / fast_per:.1f} x")


if __name__ == "__main__":
    main()
