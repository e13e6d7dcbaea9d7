"""Vietoris-Rips H0+H1: nntopo.rips_persistence vs gudhi and giotto-ph called directly.

Workloads (points normalized with ``normalize_plain`` first, Z/2 coefficients):
  * 2,000 standard-normal points in R^64;
  * 4,060 standard-normal points in R^15 (the paper's sublattice size);
  * all 12 layers (input, 10 ReLU outputs, logits) of a nine-disk network
    [2] + [15] * 10 + [2] trained here, on a 4,060-point sublattice batch:
    nntopo's total (``layer_diagrams``) vs gudhi's full computation per layer, and
    the diagrams must be identical.
Targets (issue 4): nntopo within 5% of the fastest backend on the random clouds;
at most half of gudhi's time on the 12 layers.

    .venv/bin/python benchmarks/bench_rips.py [--repeat 2] [--skip-layers] [--quick]

Every (method, workload) runs in its own fresh subprocess, so the peak resident set
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which sees C++ allocations, unlike
tracemalloc) belongs to that method alone; "base" is the child's RSS after imports
and loading the data. Times are the minimum over repeats (the 2-core machine is
shared); the numba kernels are compiled and warmed up on a small input first.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

METHODS = ("nntopo", "gudhi", "giotto", "giotto-2threads")


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB on Linux


def _run_method(method: str, X: np.ndarray):
    if method == "nntopo":
        from nntopo.landscapes.rips import rips_persistence

        return rips_persistence(X, maxdim=1)
    if method == "gudhi":
        from gudhi.sklearn.rips_persistence import RipsPersistence

        return RipsPersistence(homology_dimensions=[0, 1], homology_coeff_field=2).fit_transform([X])[0]
    if method.startswith("giotto"):
        from gph import ripser_parallel

        threads = 2 if method.endswith("2threads") else 1
        return ripser_parallel(X, maxdim=1, coeff=2, n_threads=threads)["dgms"]
    raise ValueError(method)


def _layers_nntopo(acts):
    from nntopo.landscapes.rips import layer_diagrams

    return [d for d in layer_diagrams(acts, homology="plain", maxdim=1).values()]


def _layers_gudhi(acts):
    from gudhi.sklearn.rips_persistence import RipsPersistence

    from nntopo.landscapes.normalize import normalize_plain

    rp = RipsPersistence(homology_dimensions=[0, 1], homology_coeff_field=2)
    return [rp.fit_transform([normalize_plain(A)])[0] for A in acts.values()]


def child(method: str, path: str, repeat: int, out: str) -> None:
    """Run one method on one workload; write timings, RSS and diagrams."""
    if method.startswith("layers-"):
        with np.load(path) as z:
            acts = {k: z[k] for k in z.files}
    else:
        X = np.load(path)
    # Warm-up: numba compile/cache load, imports of the backends.
    from nntopo.landscapes.rips import rips_persistence

    rips_persistence(np.random.default_rng(0).normal(size=(30, 3)))
    base = _maxrss_mb()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        if method == "layers-nntopo":
            res = _layers_nntopo(acts)
        elif method == "layers-gudhi":
            res = _layers_gudhi(acts)
        else:
            res = [_run_method(method, X)]
        times.append(time.perf_counter() - t0)
    np.savez(
        out + ".npz",
        **{f"l{i}_h{q}": np.asarray(dg[q], dtype=np.float64) for i, dg in enumerate(res) for q in range(2)},
    )
    with open(out + ".json", "w") as f:
        json.dump({"times": times, "base_mb": base, "peak_mb": _maxrss_mb(), "n_layers": len(res)}, f)


def spawn(method: str, path: str, repeat: int, tmp: str):
    out = os.path.join(tmp, f"{method}-{os.path.basename(path)}")
    cmd = [sys.executable, os.path.abspath(__file__), "--child", method, path, str(repeat), out]
    subprocess.run(cmd, check=True)
    with open(out + ".json") as f:
        info = json.load(f)
    with np.load(out + ".npz") as z:
        dgms = [[_clean(z[f"l{i}_h{q}"]) for q in range(2)] for i in range(info["n_layers"])]
    return info, dgms


def _clean(d: np.ndarray) -> np.ndarray:
    d = d[d[:, 1] > d[:, 0]]
    return d[np.lexsort((d[:, 1], d[:, 0]))]


def _max_diff(a, b) -> float:
    """Largest |difference| between sorted births and between sorted deaths, over all
    layers and degrees (0.0 means identical diagrams); inf if sizes or infinite bars
    differ. Sorting each coordinate on its own keeps float32 rounding in giotto-ph
    from reordering near-equal bars and inflating the difference."""
    worst = 0.0
    for da, db in zip(a, b):
        for x, y in zip(da, db):
            if x.shape != y.shape or np.isinf(x).sum() != np.isinf(y).sum():
                return float("inf")
            for c in range(2):
                u, v = np.sort(x[:, c]), np.sort(y[:, c])
                f = np.isfinite(u)
                if f.any():
                    worst = max(worst, float(np.abs(u[f] - v[f]).max()))
    return worst


def _identical(a, b) -> bool:
    return all(x.shape == y.shape and np.array_equal(x, y) for da, db in zip(a, b) for x, y in zip(da, db))


def trained_activations(n_batch: int, epochs: int, seed: int) -> dict[str, np.ndarray]:
    """Train [2] + [15] * 10 + [2] on the nine-disk set; capture a 4,060-point batch."""
    from nntopo.data import nine_disks, sublattice, train_test_split
    from nntopo.nets import MLP, TrainConfig, capture, train

    data = nine_disks()
    tr, te = train_test_split(data, test_fraction=0.1, seed=seed)
    net = MLP([2] + [15] * 10 + [2], seed=seed)
    t0 = time.perf_counter()
    res = train(
        net,
        tr,
        te,
        TrainConfig(epochs=epochs, lr=1e-3, batch_size=128, seed=seed, stop_at_accuracy=0.999, num_threads=1),
    )
    last = res.history[-1]
    print(
        f"trained nine-disk net: {last['epoch']} epochs, train acc {last['train_acc']:.4f}, "
        f"test acc {last['test_acc']:.4f} ({time.perf_counter() - t0:.0f} s)"
    )
    batch = sublattice(data, fraction=n_batch / len(data), seed=seed)
    acts = capture(net, batch.X)
    return {k: np.asarray(v, dtype=np.float64) for k, v in acts.items()}


def report(title: str, results: dict, ref: str = "nntopo", fastest_line: bool = True) -> None:
    print(f"\n== {title}")
    fastest_backend = min((m for m in results if m != ref), key=lambda m: min(results[m][0]["times"]))
    for m, (info, dgms) in results.items():
        t = min(info["times"])
        diff = _max_diff(results[ref][1], dgms)
        same = "identical" if _identical(results[ref][1], dgms) else f"max diff {diff:.3g}"
        print(
            f"  {m:16s} {t:8.2f} s  (runs: {', '.join(f'{x:.2f}' for x in info['times'])})  "
            f"peak RSS {info['peak_mb']:7.0f} MB (base {info['base_mb']:.0f} MB)  diagrams vs {ref}: {same}"
        )
    t_ref = min(results[ref][0]["times"])
    for m in results:
        if m != ref:
            print(f"  ratio {ref} / {m}: {t_ref / min(results[m][0]['times']):.3f}")
    if not fastest_line:
        return
    t_fast = min(results[fastest_backend][0]["times"])
    print(f"  fastest backend: {fastest_backend}; {ref} / fastest = {t_ref / t_fast:.3f} (target <= 1.05)")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5])
        return 0
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--skip-layers", action="store_true")
    ap.add_argument("--skip-clouds", action="store_true")
    ap.add_argument("--quick", action="store_true", help="smaller inputs, for a smoke test")
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--activations", help="npz of captured activations to reuse (written if missing)")
    args = ap.parse_args()
    methods = args.methods.split(",")

    from nntopo.landscapes.normalize import normalize_plain

    scale = 4 if args.quick else 1
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_clouds:
            for n, d in ((2000 // scale, 64), (4060 // scale, 15)):
                X = normalize_plain(rng.standard_normal((n, d)))
                path = os.path.join(tmp, f"cloud_{n}x{d}.npy")
                np.save(path, X)
                results = {m: spawn(m, path, args.repeat, tmp) for m in methods}
                report(f"{n} standard-normal points in R^{d}, H0+H1", results)

        if not args.skip_layers:
            n_batch = 4060 // scale
            if args.activations and os.path.exists(args.activations):
                with np.load(args.activations) as z:
                    acts = {k: z[k] for k in z.files}
                print(f"activations loaded from {args.activations}")
            else:
                acts = trained_activations(n_batch, args.epochs, seed=0)
                if args.activations:
                    np.savez(args.activations, **acts)
            path = os.path.join(tmp, "layers.npz")
            np.savez(path, **acts)
            print(f"{len(acts)} layers: " + ", ".join(f"{k} {v.shape}" for k, v in acts.items()))
            results = {
                "layers-nntopo": spawn("layers-nntopo", path, args.repeat, tmp),
                "layers-gudhi": spawn("layers-gudhi", path, 1, tmp),
            }
            report(
                "12 layers of a trained nine-disk network, plain normalization",
                results,
                ref="layers-nntopo",
                fastest_line=False,
            )
            t_n = min(results["layers-nntopo"][0]["times"])
            t_g = min(results["layers-gudhi"][0]["times"])
            same = _identical(results["layers-nntopo"][1], results["layers-gudhi"][1])
            print(f"  nntopo total / gudhi full = {t_n / t_g:.3f} (target <= 0.5); diagrams identical: {same}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
