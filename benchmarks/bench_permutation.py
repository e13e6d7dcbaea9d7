"""Permutation test: nntopo (Gram-matrix form) vs scipy.stats.permutation_test, same run.

Two groups of 50 multi-layer landscapes (12 layers, 5 levels, grid of 1,001 points on
[0, 1]) from random diagrams (group B slightly shifted), N = 100,000 permutations.
Target: nntopo under 1 s (Gram matrix + all permutations).

scipy is run two ways on the same data:
  * "vectors": the natural use, statistic = || mean(A) - mean(B) || on the landscape
    vectors (scaled by sqrt of the trapezoid weights, so Euclidean = landscape metric).
    Each resample touches all 100 x 60,060 numbers, so it runs with --scipy-resamples
    (default 200) and the time is extrapolated linearly to N.
  * "gram": scipy permuting sample indices, statistic from our Gram matrix, full N.

    .venv/bin/python benchmarks/bench_permutation.py [--repeat 3] [--blas-threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats as sstats

from nntopo.landscapes import (
    ActivationLandscape,
    Grid,
    gram_matrix,
    landscape_vectors,
    permutation_test,
)


def make_groups(rng: np.random.Generator, n_per_group: int, n_layers: int, n_bars: int, grid: Grid):
    def one(shift: float) -> ActivationLandscape:
        dgms = []
        for _ in range(n_layers):
            d = np.sort(rng.uniform(0.0, 0.9, size=(n_bars, 2)), axis=1)
            d[:, 1] += shift
            dgms.append(d)
        return ActivationLandscape.from_diagrams(dgms, grid, 5, hom_dim=1)

    return [one(0.0) for _ in range(n_per_group)], [one(0.01) for _ in range(n_per_group)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-permutations", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scipy-resamples", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--blas-threads", type=int, default=None, help="limit BLAS threads (threadpoolctl)")
    args = ap.parse_args()

    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.blas_threads, user_api="blas")
    try:
        from threadpoolctl import threadpool_info

        blas = [(i.get("internal_api"), i.get("num_threads")) for i in threadpool_info() if i.get("user_api") == "blas"]
    except ImportError:  # pragma: no cover
        blas = "unknown"
    print(f"BLAS threads: {blas}")

    n_perm = args.n_permutations
    grid = Grid(0.0, 1.0, 0.001)
    rng = np.random.default_rng(args.seed)
    a, b = make_groups(rng, 50, 12, 40, grid)
    print(f"2 groups x 50 landscapes, 12 layers x 5 levels x {grid.n_points} points; N = {n_perm:,}")

    times, gram_times = [], []
    for r in range(args.repeat):
        t0 = time.perf_counter()
        gram_matrix(a + b)
        gram_times.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        res = permutation_test(a, b, n_permutations=n_perm, seed=r)
        times.append(time.perf_counter() - t0)
    t_ours = min(times)
    print(
        f"nntopo permutation_test: {t_ours:.3f} s (min of {args.repeat}; Gram matrix alone "
        f"{min(gram_times):.3f} s) | statistic {res.statistic:.6g} | p = {res.pvalue:.3g} | "
        f"{'PASS' if t_ours < 1.0 else 'FAIL'} (target < 1 s)"
    )

    # scipy, natural use on vectors
    v = landscape_vectors(a + b, weighted=True)
    xa, xb = v[:50], v[50:]

    def stat_vec(x, y, axis=-1):
        return np.linalg.norm(x.mean(axis=axis) - y.mean(axis=axis), axis=-1)

    k = args.scipy_resamples
    t0 = time.perf_counter()
    ref = sstats.permutation_test(
        (xa, xb), stat_vec, permutation_type="independent", alternative="greater",
        n_resamples=k, vectorized=True, axis=0, batch=10, random_state=np.random.default_rng(1),
    )
    t_sv = time.perf_counter() - t0
    t_sv_full = t_sv * n_perm / k
    print(
        f"scipy (vectors): {t_sv:.2f} s for {k} resamples -> {t_sv_full:.0f} s extrapolated to N | "
        f"statistic {ref.statistic:.6g} (|diff| {abs(ref.statistic - res.statistic):.1e}) | "
        f"nntopo speed-up ~{t_sv_full / t_ours:,.0f}x"
    )

    # scipy, permuting indices with the Gram-matrix statistic
    gram = gram_matrix(a + b)

    def stat_gram(x, y, axis=-1):
        x = np.moveaxis(np.asarray(x, dtype=np.intp), axis, -1)
        y = np.moveaxis(np.asarray(y, dtype=np.intp), axis, -1)
        gxx = gram[x[..., :, None], x[..., None, :]].mean(axis=(-1, -2))
        gyy = gram[y[..., :, None], y[..., None, :]].mean(axis=(-1, -2))
        gxy = gram[x[..., :, None], y[..., None, :]].mean(axis=(-1, -2))
        return np.sqrt(np.maximum(gxx + gyy - 2 * gxy, 0.0))

    idx_a, idx_b = np.arange(50), np.arange(50, 100)
    t0 = time.perf_counter()
    ref2 = sstats.permutation_test(
        (idx_a, idx_b), stat_gram, permutation_type="independent", alternative="greater",
        n_resamples=n_perm, vectorized=True, batch=1000, random_state=np.random.default_rng(2),
    )
    t_sg = time.perf_counter() - t0
    print(
        f"scipy (Gram, indices): {t_sg:.2f} s for N | statistic {ref2.statistic:.6g} | p = {ref2.pvalue:.3g} | "
        f"nntopo speed-up {t_sg / t_ours:.1f}x"
    )
    return 0 if t_ours < 1.0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
