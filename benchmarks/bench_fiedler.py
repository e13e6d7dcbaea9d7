"""Benchmark: the Fiedler vector of large dual graphs (nntopo.polyhedral.spectral), one run.

For dual graphs (exact adjacency) of random networks with torch's default initialisation
drawn by numpy (as in bench_polyhedral.py) on [-1, 1]^2:

* ~54,000 regions: [2,200,200,200], seed 1 (the issue's network had 55,557; the count
  varies with the draw), target 1 s;
* ~67,000 regions: [2,200,200,200], seed 0 (no target, same architecture);
* ~109,000 regions: [2,280,280,280], seed 0, target 2 s;
* ~4,000 regions: [2,50,50,50], seed 0, where a dense solver still fits (a dense
  generalized eigendecomposition is O(n^3) time and O(n^2) memory: 95 GB at 109,000
  regions), so that all methods are compared on one graph.

Each graph is solved unweighted and with the paper's weights (1 + the number of 2,000
uniform training points in each region). Methods, timed in turns within each repeat
(interleaved, so a change in machine load hits all of them), min and median printed:

* ``nntopo``: ``graph_fiedler_vector`` on the dual graph (grounded SuperLU + ARPACK);
* ``nntopo end-to-end``: ``fiedler_vector(cx, points=X)`` (dual graph, region counts,
  solve), weighted runs only;
* ``scipy eigsh shift-invert``: ``eigsh(K, k=2, M=W_V, sigma<0, which="LM")``, scipy's
  own shift-invert (SuperLU with its default ordering), the eigenvector of the larger of
  the two eigenvalues;
* ``LOBPCG + pyamg``: smoothed-aggregation preconditioner (setup timed) and LOBPCG with
  the constants deflated, block size 1 (only when pyamg is importable; it is not an
  nntopo dependency);
* ``dense``: ``scipy.linalg.eigh`` of the generalized pair, on the small graph only.

For each reference: the time ratio to nntopo, |cos| between its vector and nntopo's, and
the relative difference of the eigenvalues. All single-threaded (BLAS threads 1). The
machine's load average is printed before and after: on a shared machine the min is the
figure to read.

Run: ``.venv/bin/python benchmarks/bench_fiedler.py [--repeats 3] [--quick]``
(``--quick``: the ~54,000-region and dense graphs only).
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.linalg  # noqa: E402
import scipy.sparse as sp  # noqa: E402
import scipy.sparse.linalg as sla  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_polyhedral import torch_like_net  # noqa: E402

from nntopo.polyhedral import polyhedral_complex  # noqa: E402
from nntopo.polyhedral.spectral import (  # noqa: E402
    dual_graph,
    fiedler_vector,
    graph_fiedler_vector,
    region_counts,
)

try:
    import pyamg  # noqa: E402
except ImportError:  # optional reference
    pyamg = None

# (architecture, seed, target seconds or None, dense reference)
GRAPHS = [
    ((2, 200, 200, 200), 1, 1.0, False),
    ((2, 200, 200, 200), 0, None, False),
    ((2, 280, 280, 280), 0, 2.0, False),
    ((2, 50, 50, 50), 0, None, True),
]
N_POINTS = 2000


def stiffness(g):
    D = g.coboundary()
    return (D.T @ D).tocsc()


def eigsh_shift_invert(g, w, seed):
    K = stiffness(g)
    sigma = -1e-6 * float(np.mean(K.diagonal() / w))
    v0 = np.random.default_rng(seed).standard_normal(g.n_vertices)
    vals, vecs = sla.eigsh(K, k=2, M=sp.diags(w).tocsc(), sigma=sigma, which="LM", v0=v0)
    i = int(np.argmax(vals))
    return float(vals[i]), vecs[:, i]


def lobpcg_amg(g, w, seed):
    K = stiffness(g).tocsr()
    ml = pyamg.smoothed_aggregation_solver(K, symmetry="hermitian", max_coarse=500)
    X = np.random.default_rng(seed).standard_normal((g.n_vertices, 1))
    vals, vecs = sla.lobpcg(
        K, X, B=sp.diags(w).tocsr(), M=ml.aspreconditioner(), Y=np.ones((g.n_vertices, 1)),
        largest=False, tol=1e-8, maxiter=500,
    )
    return float(vals[0]), vecs[:, 0]


def dense(g, w, seed):
    K = stiffness(g).toarray()
    vals, vecs = scipy.linalg.eigh(K, np.diag(w), subset_by_index=[1, 1])
    return float(vals[0]), vecs[:, 0]


def abs_cos(a, b):
    return abs(float(a @ b)) / (np.linalg.norm(a) * np.linalg.norm(b))


def load_line():
    la = os.getloadavg()
    cores = os.cpu_count()
    busy = " (busy: timings noisy, read the min)" if la[0] > 0.75 * cores else ""
    return f"load average {la[0]:.2f}, {la[1]:.2f}, {la[2]:.2f} on {cores} cores{busy}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="the ~54,000-region and the dense graph only")
    args = ap.parse_args()
    graphs = [GRAPHS[0], GRAPHS[3]] if args.quick else GRAPHS

    print(f"nntopo Fiedler vector benchmark: min (median) of {args.repeats} interleaved runs, single-threaded")
    print(f"pyamg: {'version ' + pyamg.__version__ if pyamg else 'not installed (LOBPCG + AMG reference skipped)'}")
    print(load_line(), "\n")
    graph_fiedler_vector(dual_graph(polyhedral_complex(torch_like_net([2, 8, 8], 0))))  # warm imports

    for arch, seed, target, with_dense in graphs:
        cx = polyhedral_complex(torch_like_net(arch, seed), check="none")
        g = dual_graph(cx)
        X = np.random.default_rng(seed).uniform(-1, 1, (N_POINTS, 2))
        w_points = 1.0 + region_counts(cx, X)
        print(
            f"{list(arch)} seed {seed}: {g.n_vertices:,} regions, {g.n_edges:,} edges (exact adjacency)"
            + (f"; target {target} s" if target else "")
        )
        for label, w in (("unweighted", np.ones(g.n_vertices)), (f"1 + counts of {N_POINTS} points", w_points)):
            methods = {"nntopo": lambda w=w: graph_fiedler_vector(g, vertex_weights=w, seed=0)}
            if label != "unweighted":
                methods["nntopo end-to-end"] = lambda: fiedler_vector(cx, points=X, seed=0)
            methods["scipy eigsh shift-invert"] = lambda w=w: eigsh_shift_invert(g, w, 0)
            if pyamg is not None:
                methods["LOBPCG + pyamg"] = lambda w=w: lobpcg_amg(g, w, 0)
            if with_dense:
                methods["dense scipy.linalg.eigh"] = lambda w=w: dense(g, w, 0)
            times = {k: [] for k in methods}
            results = {}
            for _ in range(args.repeats):
                for name, fn in methods.items():
                    t0 = time.perf_counter()
                    results[name] = fn()
                    times[name].append(time.perf_counter() - t0)
            mu0, v0 = results["nntopo"]
            t_ref = min(times["nntopo"])
            print(f"  {label}: mu = {mu0:.6e}")
            for name in methods:
                t = min(times[name])
                line = f"    {name:<26} {t:8.3f} s ({np.median(times[name]):.3f})"
                if name == "nntopo":
                    if target:
                        line += f"   time/target = {t / target:.2f}"
                else:
                    mu, v = results[name]
                    line += (
                        f"   time/nntopo = {t / t_ref:5.2f}   |cos| = {abs_cos(v, v0):.8f}"
                        f"   |mu - mu_nntopo|/mu = {abs(mu - mu0) / mu0:.1e}"
                    )
                print(line)
        print(" ", load_line(), "\n", flush=True)


if __name__ == "__main__":
    main()
