"""LandscapeVectorizer: the scikit-learn transformer contract and its pipeline."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nntopo.landscapes import Grid, LandscapeVectorizer, Landscape

from nntopo.landscapes import normalize, rips


def circle(rng, n=40, noise=0.02, radius=1.0):
    a = rng.uniform(0, 2 * np.pi, n)
    return radius * np.c_[np.cos(a), np.sin(a)] + noise * rng.standard_normal((n, 2))


def blob(rng, n=40):
    return rng.standard_normal((n, 2))


def test_init_only_stores_params_and_clone_works():
    vec = LandscapeVectorizer(homology_dimensions=(0, 1), step=0.05, n_levels=3)
    assert vec.get_params()["homology_dimensions"] == (0, 1)
    assert vec.get_params()["step"] == 0.05
    assert not [k for k in vars(vec) if k.endswith("_")]
    # even invalid parameters are only checked in fit
    bad = LandscapeVectorizer(step=-1.0)
    with pytest.raises(ValueError, match="step"):
        bad.fit([np.zeros((3, 2))])
    cloned = clone(vec)
    assert cloned.get_params() == vec.get_params()


def test_fit_sets_trailing_underscore_attributes_and_transform_shape():
    rng = np.random.default_rng(0)
    X = [circle(rng), blob(rng), circle(rng, 30)]
    vec = LandscapeVectorizer(homology_dimensions=(1, 0), step=0.02, n_levels=4)
    with pytest.raises(NotFittedError):
        vec.transform(X)
    assert vec.fit(X) is vec
    assert vec.grid_ == Grid(0.0, 1.0, 0.02)
    assert vec.homology_dimensions_ == (0, 1)
    assert vec.n_features_out_ == 2 * 4 * 51
    out = vec.transform(X)
    assert out.shape == (3, vec.n_features_out_) and out.dtype == np.float64
    assert len(vec.get_feature_names_out()) == vec.n_features_out_
    assert vec.get_feature_names_out()[0] == "H0_L1_t0"
    np.testing.assert_array_equal(vec.fit_transform(X), out)


def test_matches_manual_pipeline_and_sees_the_circle():
    rng = np.random.default_rng(1)
    X = [circle(rng, 60), blob(rng, 60)]
    vec = LandscapeVectorizer(step=0.01, n_levels=3).fit(X)
    out = vec.transform(X)
    for row, cloud in zip(out, X):
        dgms = rips.rips_persistence(normalize.normalize_plain(cloud), maxdim=1)
        lam = Landscape.from_diagram(dgms[1], Grid(0, 1, 0.01), 3)
        np.testing.assert_allclose(row, lam.values.ravel(), atol=1e-12)
    # one long H1 bar for the circle (radius 1/2 after normalization): lambda_1 peaks
    # near (sqrt(3)/2 - small) / 2 ~ 0.4, far above the blob's
    lam1_circle = out[0].reshape(3, -1)[0]
    lam1_blob = out[1].reshape(3, -1)[0]
    assert lam1_circle.max() > 0.3
    assert lam1_circle.max() > 4 * lam1_blob.max()


def test_local_normalization_uses_the_distance_matrix():
    rng = np.random.default_rng(4)
    # points along 3 rays from the origin: relative to the far sphere, H1 of rank 2
    t = rng.uniform(0, 2, (60, 1))
    dirs = np.array([[1.0, 0.0], [-0.5, 0.8], [-0.5, -0.8]])
    X = [np.vstack([t[i::3] * dirs[i] for i in range(3)])]
    vec = LandscapeVectorizer(homology="local", ends_in_relu=True, t_max=2.0, step=0.01, n_levels=3).fit(X)
    out = vec.transform(X)[0]
    dgms = rips.rips_persistence(distance_matrix=normalize.normalize_local(X[0], True), maxdim=1)
    lam = Landscape.from_diagram(dgms[1], vec.grid_, 3)
    np.testing.assert_allclose(out, lam.values.ravel(), atol=1e-12)


def test_weighted_features_give_landscape_inner_products():
    rng = np.random.default_rng(2)
    X = [circle(rng), circle(rng, noise=0.1)]
    plain = LandscapeVectorizer(step=0.01).fit(X)
    weighted = LandscapeVectorizer(step=0.01, weighted=True).fit(X)
    a, b = (Landscape(r.reshape(5, -1), plain.grid_) for r in plain.transform(X))
    wa, wb = weighted.transform(X)
    assert wa @ wb == pytest.approx(a.inner(b), rel=1e-12)


def test_in_a_pipeline():
    rng = np.random.default_rng(3)
    X = [circle(rng, 30) for _ in range(6)] + [blob(rng, 30) for _ in range(6)]
    y = np.array([1] * 6 + [0] * 6)
    pipe = make_pipeline(LandscapeVectorizer(step=0.05), StandardScaler(), LogisticRegression())
    pipe.fit(X, y)
    assert pipe.score(X, y) == 1.0


@pytest.mark.parametrize(
    "X, name",
    [
        ([], "X"),
        ([np.zeros((0, 2))], r"X\[0\]"),
        ([np.array([[0.0, np.nan]])], r"X\[0\]"),
        ([np.zeros(5)], r"X\[0\]"),
        (np.zeros((4, 2)), "X"),
    ],
)
def test_bad_clouds(X, name):
    with pytest.raises(ValueError, match=name):
        LandscapeVectorizer().fit(X)


@pytest.mark.parametrize(
    "params, name",
    [
        ({"homology_dimensions": ()}, "homology_dimensions"),
        ({"homology_dimensions": (1, 1)}, "homology_dimensions"),
        ({"homology_dimensions": (-1,)}, "homology_dimensions"),
        ({"homology": "other"}, "homology"),
        ({"n_levels": 0}, "n_levels"),
        ({"t_max": 0.0}, "t_max"),
    ],
)
def test_bad_params(params, name):
    with pytest.raises(ValueError, match=name):
        LandscapeVectorizer(**params).fit([np.zeros((3, 2))])


def test_homology_is_the_name_for_plain_vs_local():
    # The same name and values as layer_diagrams(homology=...); normalize is only the
    # on/off switch of the plain normalization.
    rng = np.random.default_rng(5)
    X = [circle(rng, 40, radius=3.0) + 5.0]
    with pytest.raises(ValueError, match="homology"):
        LandscapeVectorizer(homology="foo").fit(X)
    with pytest.raises(TypeError, match="homology"):
        LandscapeVectorizer(homology=None).fit(X)
    with pytest.raises(ValueError, match="normalize"):
        LandscapeVectorizer(homology="local", normalize=False).fit(X)
    with pytest.raises(TypeError, match="normalize"):
        LandscapeVectorizer(normalize="plain").fit(X)
    raw = LandscapeVectorizer(normalize=False, t_max=4.0, step=0.01, n_levels=2).fit(X).transform(X)[0]
    dgms = rips.rips_persistence(X[0], maxdim=1)
    lam = Landscape.from_diagram(dgms[1], Grid(0, 4.0, 0.01), 2)
    np.testing.assert_allclose(raw, lam.values.ravel(), atol=1e-12)


def test_huge_requests_are_refused_in_fit():
    with pytest.raises(ValueError, match="max_bytes"):
        LandscapeVectorizer(n_levels=10**9).fit([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="max_bytes"):
        LandscapeVectorizer(step=1e-10).fit([np.zeros((3, 2))])
    vec = LandscapeVectorizer(max_bytes=10**5).fit([np.zeros((3, 2))])
    with pytest.raises(ValueError, match="max_bytes"):
        vec.transform([np.zeros((3, 2))] * 100)
