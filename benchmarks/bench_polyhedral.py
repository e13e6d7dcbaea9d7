"""Benchmark: exact polyhedral complex (nntopo.polyhedral) against grid sampling, one run.

For each architecture ``[d, h1, h2, ...]`` (hidden widths; one output neuron is added,
it never cuts) with torch's default initialisation drawn by numpy (W, b ~ uniform
(+-1/sqrt(fan_in)), fixed seed) on [-1, 1]^d, prints:

* the time of ``polyhedral_complex`` with ``check="none"`` (the build), min over repeats
  (the machine is shared: the process CPU time and the median are printed too),
  single-threaded; then, on that complex, the combinatorial check (Euler characteristic,
  ∂∂ = 0, no region straddling a hyperplane: ``check="combinatorial"``, the default), the
  region sign vectors (computed lazily), and the self-check through the network
  (interior points of all regions, degenerate and sampled vertices: what
  ``check="network"`` adds); and ``polyhedral_complex`` as called by default;
* the f-vector and the Euler characteristic;
* the number of regions found by sampling grids (100x100 and 1000x1000 in d = 2,
  20^3 and 100^3 in d = 3) beside the exact count, and the time of the 1000x1000 grid
  sampling, so the exact/sampling time ratio is measured in the same run;
* the ratio to the issue's targets, and to the 1.1 s quoted for Berzins' reference
  implementation on [2,100,100,100] (that figure was measured elsewhere, not here).

With ``--baseline-src DIR`` (the ``src`` folder of another checkout, e.g. a ``git worktree``
of an older commit), the build (``check`` off) of both versions is timed in child
processes taking turns, and the ratio is printed: a slowdown is measured on the same
machine state, not against numbers from another day.

Run: ``.venv/bin/python benchmarks/bench_polyhedral.py [--repeats 5] [--quick]
[--baseline-src DIR]``.
"""

from __future__ import annotations

import os

# Single-threaded, as the targets are stated; must be set before numpy/numba load.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import inspect  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from nntopo.polyhedral import polyhedral_complex  # noqa: E402

ARCHS = [(2, 20, 20, 20), (2, 50, 50, 50), (2, 100, 100, 100), (2, 200, 200, 200), (3, 30, 30), (3, 60, 60)]
TARGETS = {(2, 100, 100, 100): 0.25, (2, 200, 200, 200): 1.5}
BERZINS_QUOTED = {(2, 100, 100, 100): 1.1}


def torch_like_net(widths, seed=0):
    rng = np.random.default_rng(seed)
    ws = list(widths) + [1]
    pairs = []
    for i, o in zip(ws[:-1], ws[1:]):
        bound = 1.0 / np.sqrt(i)
        pairs.append((rng.uniform(-bound, bound, (o, i)), rng.uniform(-bound, bound, o)))
    return pairs


def grid_regions(pairs, d, n, chunk=100_000):
    """Number of distinct activation patterns on an n^d grid of [-1, 1]^d, and the time."""
    t0 = time.perf_counter()
    g = np.linspace(-1, 1, n)
    total = n**d
    seen = set()
    for start in range(0, total, chunk):
        idx = np.arange(start, min(start + chunk, total))
        P = np.stack([g[(idx // n**i) % n] for i in range(d)], axis=1)
        h = P
        bits = []
        for W, b in pairs[:-1]:
            z = h @ W.T + b
            bits.append(z > 0)
            h = np.maximum(z, 0)
        packed = np.packbits(np.concatenate(bits, axis=1), axis=1)
        seen.update(np.unique(packed.view(np.dtype((np.void, packed.shape[1])))).tolist())
    return len(seen), time.perf_counter() - t0


def build_times(repeats: int, seed: int) -> dict[str, float]:
    """Min build time (no check) per architecture, in seconds, of the importable nntopo."""
    # Older versions took check=False; the current one takes check="none".
    off = "none" if inspect.signature(polyhedral_complex).parameters["check"].default != True else False  # noqa: E712
    polyhedral_complex(torch_like_net([2, 5, 5], 0), check=off)
    out = {}
    for arch in ARCHS:
        pairs = torch_like_net(arch, seed)
        best = np.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            polyhedral_complex(pairs, check=off)
            best = min(best, time.perf_counter() - t0)
        out[str(list(arch))] = best
    return out


def compare(baseline_src: str, repeats: int, seed: int, rounds: int = 3) -> None:
    """Build times of this checkout and of ``baseline_src``, child processes taking turns."""
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src")
    best: dict[str, dict[str, float]] = {"baseline": {}, "current": {}}
    for _ in range(rounds):
        for label, src in (("baseline", baseline_src), ("current", here)):
            env = dict(os.environ, PYTHONPATH=os.path.abspath(src))
            cmd = [sys.executable, os.path.abspath(__file__), "--child", "--repeats", str(repeats), "--seed", str(seed)]
            got = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
            for k, v in got.items():
                best[label][k] = min(best[label].get(k, np.inf), v)
    print(f"build time (check off), min over {rounds} rounds x {repeats} runs, the two versions taking turns")
    print(f"baseline: {os.path.abspath(baseline_src)}")
    for arch in best["current"]:
        b, c = best["baseline"][arch], best["current"][arch]
        print(f"  {arch:<20} baseline {1e3 * b:8.2f} ms | current {1e3 * c:8.2f} ms | current/baseline {c / b:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="skip the largest grids")
    ap.add_argument("--baseline-src", help="src folder of another checkout: compare build times with it")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(build_times(args.repeats, args.seed)))
        return
    if args.baseline_src:
        compare(args.baseline_src, args.repeats, args.seed)
        return

    polyhedral_complex(torch_like_net([2, 5, 5], 0))  # compile the numba kernels
    polyhedral_complex(torch_like_net([3, 5, 5], 0)).region_signs

    print(f"nntopo.polyhedral benchmark, seed {args.seed}, min of {args.repeats} runs, single-threaded")
    print("architecture = [d, hidden...] + 1 output neuron; box [-1, 1]^d\n")
    for arch in ARCHS:
        d = arch[0]
        pairs = torch_like_net(arch, args.seed)
        walls, cpus, combs, signs, geoms, totals, fulls = [], [], [], [], [], [], []
        for _ in range(args.repeats):
            t0, c0 = time.perf_counter(), time.process_time()
            pc = polyhedral_complex(pairs, check="none")
            t1, c1 = time.perf_counter(), time.process_time()
            pc.check("combinatorial")
            t2 = time.perf_counter()
            pc.region_signs
            t3 = time.perf_counter()
            pc._check_region_signs()
            pc._check_vertices()
            t4 = time.perf_counter()
            polyhedral_complex(pairs)
            t5 = time.perf_counter()
            polyhedral_complex(pairs, check="network")
            t6 = time.perf_counter()
            walls.append(t1 - t0)
            cpus.append(c1 - c0)
            combs.append(t2 - t1)
            signs.append(t3 - t2)
            geoms.append(t4 - t3)
            totals.append(t5 - t4)
            fulls.append(t6 - t5)
        t_check, t_signs, t_geom = min(combs), min(signs), min(geoms)
        t_build = min(walls) + t_check  # build + combinatorial check: the default call
        f = pc.f_vector.tolist()
        print(
            f"{list(arch)}: {t_build:.4f} s = build {min(walls):.4f} s (CPU {min(cpus):.4f} s, "
            f"median wall {np.median(walls):.4f} s) + combinatorial check {t_check:.4f} s; "
            f"region sign vectors {t_signs:.4f} s"
        )
        print(
            f"    network self-check {t_geom:.4f} s ({100 * t_geom / min(walls):.0f}% of the build, region sign "
            f"vectors not counted); polyhedral_complex as called: default (combinatorial) {min(totals):.4f} s, "
            f'check="network" {min(fulls):.4f} s'
        )
        print(f"    f-vector {f}, Euler characteristic {pc.euler_characteristic()}, regions {f[-1]}")
        if arch in TARGETS:
            print(f"    target {TARGETS[arch]} s: ratio time/target = {t_build / TARGETS[arch]:.2f}")
        if arch in BERZINS_QUOTED:
            print(
                f"    quoted Berzins reference {BERZINS_QUOTED[arch]} s (not measured here): "
                f"speed-up {BERZINS_QUOTED[arch] / t_build:.1f}x"
            )
        grids = (100, 1000) if d == 2 else (20, 100)
        if args.quick:
            grids = grids[:1]
        for n in grids:
            found, t_grid = grid_regions(pairs, d, n)
            label = "x".join([str(n)] * d)
            print(
                f"    grid {label}: {found} regions ({100 * found / f[-1]:.1f}% of exact) in {t_grid:.3f} s"
                f"; exact/grid time = {t_build / t_grid:.2f}"
            )
        print()


if __name__ == "__main__":
    main()
