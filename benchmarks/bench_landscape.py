"""Landscape discretization: nntopo vs gudhi.representations.Landscape, same run.

5,000 random bars (birth < death uniform in [0, 1]), grid of 1,001 points on [0, 1],
5 and 50 levels. gudhi gets the same resolution and sample range; its values are
divided by sqrt(2) (gudhi's convention) and must be identical to ours.
Targets: >= 50x faster at 5 levels, >= 20x at 50 levels.

    .venv/bin/python benchmarks/bench_landscape.py [--repeat 15] [--seed 0]

Timings are the minimum over repeats (the machine is shared). The numba kernel is
compiled (or loaded from its cache) and warmed up before timing.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from nntopo.landscapes import Grid, exact_landscape, landscape


def best_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bars", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from gudhi.representations import Landscape as GudhiLandscape

    rng = np.random.default_rng(args.seed)
    dgm = np.sort(rng.uniform(0.0, 1.0, size=(args.bars, 2)), axis=1)
    grid = Grid(0.0, 1.0, 0.001)
    t0 = time.perf_counter()
    landscape(dgm[:10], grid, 5)  # JIT compile or cache load
    print(f"numba warm-up (compile or cache load): {time.perf_counter() - t0:.3f} s")
    print(f"{args.bars} bars, grid {grid.n_points} points, min of {args.repeat} repeats (gudhi: min of 5)")

    ok = True
    for n_levels, target in ((5, 50.0), (50, 20.0)):
        ours = landscape(dgm, grid, n_levels).values
        t_ours = best_time(lambda: landscape(dgm, grid, n_levels), args.repeat)
        gl = GudhiLandscape(num_landscapes=n_levels, resolution=grid.n_points, sample_range=[0.0, 1.0]).fit([dgm])
        theirs = gl.transform([dgm])[0].reshape(n_levels, grid.n_points) / math.sqrt(2.0)
        t_gudhi = best_time(lambda: gl.transform([dgm]), 5)
        diff = float(np.abs(ours - theirs).max())
        ratio = t_gudhi / t_ours
        passed = ratio >= target and diff <= 1e-9
        ok &= passed
        print(
            f"levels={n_levels:3d}: nntopo {t_ours * 1e3:8.3f} ms | gudhi {t_gudhi * 1e3:8.3f} ms | "
            f"speed-up {ratio:6.1f}x (target >= {target:.0f}x) | max |diff| {diff:.1e} | "
            f"{'PASS' if passed else 'FAIL'}"
        )

    # For information: the exact (critical-point) form on the same diagram.
    exact_landscape(dgm[:10], 5)  # compile or cache load
    t_exact = best_time(lambda: exact_landscape(dgm, 5), 5)
    ex = exact_landscape(dgm, 5)
    diff = float(np.abs(ex(grid.points(), n_levels=5) - landscape(dgm, grid, 5).values).max())
    print(f"exact form (critical points), 5 levels: {t_exact * 1e3:.1f} ms, |exact - grid| at grid points {diff:.1e}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
