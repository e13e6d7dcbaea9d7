"""Synthetic two-class sets: the nine-disk lattice, circles and moons."""

from __future__ import annotations

import numpy as np

from ._base import Dataset, check_fraction, check_positive

__all__ = ["nine_disks", "sublattice", "circles", "moons"]


def _nine_disk_centers(ring_radius: float) -> np.ndarray:
    angles = np.arange(8) * (np.pi / 4)
    # Rounding makes cos(pi/2) exactly 0, so lattice points exactly on a disk's rim are
    # classified the same way for every axis-aligned disk.
    ring = ring_radius * np.round(np.column_stack([np.cos(angles), np.sin(angles)]), 15)
    return np.vstack([[0.0, 0.0], ring])


def nine_disks(
    step: float = 1.0,
    outer_radius: float = 70.0,
    ring_radius: float = 42.0,
    disk_radius: float = 12.0,
    margin: float = 2.0,
) -> Dataset:
    """The nine-disk set of the activation-landscapes paper on a square lattice.

    Lattice points ``step * (i, j)`` inside the disk of radius ``outer_radius`` around the
    origin. Class 0 (C1) is the union of 9 disks of radius ``disk_radius``: one at the
    origin and 8 evenly spaced on a ring of radius ``ring_radius``. Class 1 (C2) is the
    rest of the enclosing disk, less a band of width ``margin`` around every disk, so the
    classes are separated. All lengths are in input units (the lattice is not rescaled).
    The defaults give 13,853 points (4,009 in C1, 9,844 in C2).

    Returns a :class:`Dataset` whose ``point_data["lattice"]`` holds the integer lattice index
    (n, 2) of every point, used by :func:`sublattice`.
    """
    step = check_positive(step, "step")
    outer_radius = check_positive(outer_radius, "outer_radius")
    ring_radius = check_positive(ring_radius, "ring_radius")
    disk_radius = check_positive(disk_radius, "disk_radius")
    margin = check_positive(margin, "margin", strict=False)
    centers = _nine_disk_centers(ring_radius)
    reach = disk_radius + margin
    # Neighbouring ring disks are 2 * ring_radius * sin(pi/8) apart.
    if 2 * ring_radius * np.sin(np.pi / 8) <= 2 * reach or ring_radius <= 2 * reach:
        raise ValueError(
            f"disk_radius + margin = {reach} is too large for ring_radius = {ring_radius}: disks would touch"
        )
    if ring_radius + reach >= outer_radius:
        raise ValueError(
            f"outer_radius = {outer_radius} must exceed ring_radius + disk_radius + margin = {ring_radius + reach}"
        )
    n = int(np.floor(outer_radius / step))
    idx = np.arange(-n, n + 1)
    I, J = np.meshgrid(idx, idx, indexing="ij")
    lattice = np.column_stack([I.ravel(), J.ravel()])
    points = lattice * step
    inside = np.hypot(points[:, 0], points[:, 1]) <= outer_radius
    lattice, points = lattice[inside], points[inside]
    dist = np.min(np.linalg.norm(points[:, None, :] - centers[None, :, :], axis=2), axis=1)
    in_disk = dist <= disk_radius
    keep = in_disk | (dist > reach)
    return Dataset(
        X=points[keep],
        y=np.where(in_disk[keep], 0, 1),
        meta={
            "name": "nine_disks",
            "step": step,
            "outer_radius": outer_radius,
            "ring_radius": ring_radius,
            "disk_radius": disk_radius,
            "margin": margin,
        },
        point_data={"lattice": lattice[keep]},
    )


def sublattice(
    data: Dataset,
    every: int | None = None,
    fraction: float | None = None,
    seed: int | np.random.Generator = 0,
) -> Dataset:
    """A sub-batch of a lattice set: every k-th lattice point in each direction, or a fraction.

    ``every=k`` keeps the points whose lattice indices are both multiples of k (about 1/k^2
    of the points). ``fraction=f`` keeps round(f * n) points chosen at random with ``seed``
    (the paper's batch is 28.52% of the set). Give exactly one of the two.
    """
    if (every is None) == (fraction is None):
        raise ValueError("give exactly one of every= or fraction=")
    if every is not None:
        if int(every) != every or every < 1:
            raise ValueError(f"every must be a positive integer; got {every!r}")
        lattice = data.point_data.get("lattice")
        if lattice is None:
            raise ValueError("data has no point_data['lattice']: every= needs a lattice set such as nine_disks()")
        mask = np.all(np.asarray(lattice) % int(every) == 0, axis=1)
        if not mask.any():
            raise ValueError(f"every={every} selects no point")
        return data.subset(mask, sublattice_every=int(every))
    f = check_fraction(fraction, "fraction")
    rng = np.random.default_rng(seed)
    k = max(1, int(round(f * len(data))))
    chosen = np.sort(rng.choice(len(data), size=k, replace=False))
    return data.subset(chosen, sublattice_fraction=f)


def _two_class(name: str, X: np.ndarray, y: np.ndarray, **params: object) -> Dataset:
    return Dataset(X=X, y=y, meta={"name": name, **params})


def circles(n_samples: int = 1000, noise: float = 0.05, factor: float = 0.5, seed: int = 0) -> Dataset:
    """Two concentric circles (scikit-learn's ``make_circles``); ``factor`` is the inner/outer radius ratio."""
    from sklearn.datasets import make_circles

    _check_count(n_samples)
    check_positive(noise, "noise", strict=False)
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must lie strictly between 0 and 1; got {factor!r}")
    X, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=seed)
    return _two_class("circles", X, y, n_samples=n_samples, noise=noise, factor=factor, seed=seed)


def moons(n_samples: int = 1000, noise: float = 0.1, seed: int = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``)."""
    from sklearn.datasets import make_moons

    _check_count(n_samples)
    check_positive(noise, "noise", strict=False)
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return _two_class("moons", X, y, n_samples=n_samples, noise=noise, seed=seed)


def _check_count(n_samples: int) -> None:
    if int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2; got {n_samples!r}")
