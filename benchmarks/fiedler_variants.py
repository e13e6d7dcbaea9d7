"""What makes the Fiedler partition follow the decision boundary: variants over seeds.

Reads a finished sweep folder with ``[analysis.fiedler]`` (e.g. ``runs/circles_paper``),
reuses its trained checkpoints, and recomputes the study's analysis for each variant of
the settings (box, vertex weights and their power, edge weights by facet length), both
adjacencies. Prints a Markdown table: per variant and adjacency, the weighted (and, for
reference, unweighted) misclassification over seeds as mean ± sd and the share of seeds
at 0%.

    .venv/bin/python benchmarks/fiedler_variants.py runs/circles_paper [--snapshot -1] [--match box]
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np

from nntopo.studies.fiedler import FIEDLER, FiedlerSettings
from nntopo.sweep.data import sweep_data
from nntopo.sweep.jobs import load_snapshot_network
from nntopo.sweep.store import stored_config


def variants(base: FiedlerSettings) -> dict[str, FiedlerSettings]:
    r = dataclasses.replace
    both = ("exact", "hamming")
    base = r(base, adjacency=both)
    return {
        "paper (data box +5%, 1+count, no edge weights)": base,
        "box: data, no margin": r(base, margin=0.0),
        "box: data +50%": r(base, margin=0.5),
        "box: [-3, 3]^2": r(base, box=(-3.0, 3.0), margin=0.0),
        "box: [-6, 6]^2": r(base, box=(-6.0, 6.0), margin=0.0),
        "box: [-20, 20]^2": r(base, box=(-20.0, 20.0), margin=0.0),
        "vertex: 1+count^0.5": r(base, power=0.5),
        "vertex: 1+count^2": r(base, power=2.0),
        "vertex: 1+count^4": r(base, power=4.0),
        "vertex: 1+density": r(base, vertex_weights="density"),
        "vertex: 1+density^2": r(base, vertex_weights="density", power=2.0),
        "edges: facet length, 1+count": r(base, edge_weights="facet_length"),
        "edges: facet length, no vertex weights": r(base, edge_weights="facet_length", vertex_weights="none"),
        "edges: facet length, 1+count^2": r(base, edge_weights="facet_length", power=2.0),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out")
    p.add_argument("--snapshot", type=int, default=-1)
    p.add_argument("--match", default="", help="only the variants whose label contains this text")
    args = p.parse_args()
    config = stored_config(args.out)
    data = sweep_data(config)
    snap = args.snapshot % len(config.snapshots)
    nets = [load_snapshot_network(args.out, config, i, snap) for i in range(config.n_networks)]
    print(f"{config.name}, snapshot {snap} (epoch {config.snapshots[snap].epoch}), {len(nets)} seeds\n")
    print("| variant | adjacency | weighted miscl. % | weighted at 0% | weighted error | unweighted miscl. % |")
    print("|---|---|---|---|---|---|")
    for label, s in variants(config.analysis("fiedler")).items():
        if args.match not in label:
            continue
        res = [FIEDLER.compute(s, config, i, snap, net, data) for i, net in enumerate(nets)]
        mis = np.array([r["fiedler_misclassification"] for r in res])  # (seeds, adjacency, weighting)
        err = np.array([r["fiedler_error"] for r in res])
        for a_i, a in enumerate(s.adjacency):
            w, u = mis[:, a_i, 1], mis[:, a_i, 0]
            print(f"| {label} | {a} | {100 * np.nanmean(w):.1f} ± {100 * np.nanstd(w, ddof=1):.1f} | "
                  f"{100 * np.mean(w == 0):.0f}% | {np.nanmean(err[:, a_i, 1]):.2f} | "
                  f"{100 * np.nanmean(u):.1f} ± {100 * np.nanstd(u, ddof=1):.1f} |", flush=True)


if __name__ == "__main__":
    main()
