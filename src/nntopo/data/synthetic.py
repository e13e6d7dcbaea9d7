"""Synthetic two-class sets: the nine-disk lattice, circles and moons."""

from __future__ import annotations

import numpy as np

from .._validation import (
    DEFAULT_MAX_BYTES,
    as_generator,
    check_allocation,
    check_fraction,
    check_int,
    check_real,
    check_seed,
    seed_to_int,
)
from ._base import Dataset

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
    *,
    max_bytes: float = DEFAULT_MAX_BYTES,
) -> Dataset:
    """The nine-disk set of the activation-landscapes paper on a square lattice.

    Lattice points ``step * (i, j)`` inside the disk of radius ``outer_radius`` around the
    origin. Class 0 (C1) is the union of 9 disks of radius ``disk_radius``: one at the
    origin and 8 evenly spaced on a ring of radius ``ring_radius``. Class 1 (C2) is the
    rest of the enclosing disk, less a band of width ``margin`` around every disk, so the
    classes are separated. All lengths are in input units (the lattice is not rescaled).
    The defaults give 13,853 points (4,009 in C1, 9,844 in C2).

    Returns a :class:`Dataset` whose ``point_data["lattice"]`` holds the integer lattice index
    (n, 2) of every point, used by :func:`sublattice`. The working memory grows as
    ``(outer_radius / step)**2``; a lattice needing more than ``max_bytes`` (default 8 GiB)
    is refused before anything is allocated.
    """
    step = check_real(step, "step", minimum=0.0, min_inclusive=False)
    outer_radius = check_real(outer_radius, "outer_radius", minimum=0.0, min_inclusive=False)
    ring_radius = check_real(ring_radius, "ring_radius", minimum=0.0, min_inclusive=False)
    disk_radius = check_real(disk_radius, "disk_radius", minimum=0.0, min_inclusive=False)
    margin = check_real(margin, "margin", minimum=0.0)
    centers = _nine_disk_centers(ring_radius)
    reach = disk_radius + margin
    # Neighbouring ring disks are 2 * ring_radius * sin(pi/8) ~ 0.77 ring_radius apart, closer
    # than the centre disk is to any ring disk (ring_radius), so this one test covers both.
    if 2 * ring_radius * np.sin(np.pi / 8) <= 2 * reach:
        raise ValueError(
            f"disk_radius + margin = {reach} is too large for ring_radius = {ring_radius}: disks would touch"
        )
    if ring_radius + reach >= outer_radius:
        raise ValueError(
            f"outer_radius = {outer_radius} must exceed ring_radius + disk_radius + margin = {ring_radius + reach}"
        )
    side = 2.0 * float(np.floor(outer_radius / step)) + 1.0  # a float: the ratio may exceed any int64
    # Per lattice point: index and coordinate pairs, the (9, 2) offsets to the centres and
    # their norms, all int64/float64, with the meshgrid and mask temporaries: ~300 bytes.
    check_allocation(side * side * 300.0, f"nine_disks lattice of {side:.3g} x {side:.3g} points", max_bytes=max_bytes)
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
    seed: int | np.random.Generator | None = 0,
    *,
    size: int | None = None,
) -> Dataset:
    """A sub-batch of a set: every k-th lattice point in each direction, a random fraction or a random size.

    ``every=k`` (an int >= 1) keeps the points whose lattice indices are both multiples of
    k (about 1/k^2 of the points; a lattice set such as :func:`nine_disks` only).
    ``fraction=f`` in (0, 1) keeps round(f * n) points chosen at random (the paper's
    batch is 28.52% of the set); ``size=m`` (1 <= m <= n) keeps exactly m points chosen
    at random. Give exactly one of the three; the kept points stay in their original
    order. ``seed`` (used by the random draws only) is an int, a
    ``numpy.random.Generator`` or None (fresh entropy); default 0.
    """
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be an nntopo Dataset, got {type(data).__name__}")
    seed = check_seed(seed)
    if sum(x is not None for x in (every, fraction, size)) != 1:
        raise ValueError("every, fraction, size: give exactly one of every=, fraction= or size=")
    if every is not None:
        every = check_int(every, "every", minimum=1)
        lattice = data.point_data.get("lattice")
        if lattice is None:
            raise ValueError("data has no point_data['lattice']: every= needs a lattice set such as nine_disks()")
        mask = np.all(np.asarray(lattice) % every == 0, axis=1)
        if not mask.any():
            raise ValueError(f"every={every} selects no point")
        return data.subset(mask, sublattice_every=every)
    rng = as_generator(seed)
    if size is not None:
        size = check_int(size, "size", minimum=1)
        if size > len(data):
            raise ValueError(f"size={size} is more than the {len(data)} points of data")
        return data.subset(np.sort(rng.choice(len(data), size=size, replace=False)), sublattice_size=size)
    f = check_fraction(fraction, "fraction")
    k = max(1, int(round(f * len(data))))
    chosen = np.sort(rng.choice(len(data), size=k, replace=False))
    return data.subset(chosen, sublattice_fraction=f)


def _two_class(name: str, X: np.ndarray, y: np.ndarray, **params: object) -> Dataset:
    return Dataset(X=X, y=y, meta={"name": name, **params})


def _sklearn_random_state(seed: object) -> tuple[int | np.random.RandomState, int]:
    """scikit-learn's ``random_state`` for ``seed``, and the int seed to record in meta.

    scikit-learn takes ints below 2**32 only (and legacy RandomState objects, not
    Generators). Those ints are passed through, so ``seed=0`` draws what
    ``random_state=0`` always drew; larger ints, Generators (one draw) and None (fresh
    entropy) seed a RandomState through a SeedSequence.
    """
    s = seed_to_int(seed)
    if s < 2**32:
        return s, s
    return np.random.RandomState(np.random.MT19937(s)), s


def circles(
    n_samples: int = 1000, noise: float = 0.05, factor: float = 0.5, seed: int | np.random.Generator | None = 0
) -> Dataset:
    """Two concentric circles (scikit-learn's ``make_circles``) of ``n_samples >= 2`` points.

    ``noise`` >= 0 is the standard deviation of the Gaussian noise (input units);
    ``factor`` in (0, 1) is the inner/outer radius ratio. ``seed``: an int, a
    ``numpy.random.Generator`` or None (fresh entropy); default 0. ``meta["seed"]`` is the
    int seed actually used.
    """
    from sklearn.datasets import make_circles

    n_samples = check_int(n_samples, "n_samples", minimum=2)
    noise = check_real(noise, "noise", minimum=0.0)
    factor = check_fraction(factor, "factor")
    random_state, used = _sklearn_random_state(seed)
    X, y = make_circles(n_samples=n_samples, noise=noise, factor=factor, random_state=random_state)
    return _two_class("circles", X, y, n_samples=n_samples, noise=noise, factor=factor, seed=used)


def moons(n_samples: int = 1000, noise: float = 0.1, seed: int | np.random.Generator | None = 0) -> Dataset:
    """Two interleaving half circles (scikit-learn's ``make_moons``) of ``n_samples >= 2`` points.

    ``noise`` >= 0 is the standard deviation of the Gaussian noise (input units).
    ``seed``: an int, a ``numpy.random.Generator`` or None (fresh entropy); default 0.
    ``meta["seed"]`` is the int seed actually used.
    """
    from sklearn.datasets import make_moons

    n_samples = check_int(n_samples, "n_samples", minimum=2)
    noise = check_real(noise, "noise", minimum=0.0)
    random_state, used = _sklearn_random_state(seed)
    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=random_state)
    return _two_class("moons", X, y, n_samples=n_samples, noise=noise, seed=used)
