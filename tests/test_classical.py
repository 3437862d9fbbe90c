"""The classical (non-neural) estimators against ground truth."""

import tracemalloc

import numpy as np
import pytest
from scipy.spatial.distance import cdist
from scipy.special import logsumexp
from sklearn.feature_selection import mutual_info_regression

from mi_lib import classical
from mi_lib.classical import kde_bounds, ksg, sample_propagation
from mi_lib.truth import correlated_gaussians, correlated_gaussians_mi, noisy_linear_mi


@pytest.mark.parametrize("dim, rho", [(1, 0.9), (2, 0.9)])
def test_ksg_within_5_percent_on_a_2d_gaussian(dim, rho):
    # 5,000 samples. KSG's sampling error is about 0.01-0.02 nats here, whatever the MI, so a 5%
    # check is meaningful only where 5% of the truth spans several such errors: rho = 0.9 (0.83 and
    # 1.66 nats). At rho = 0.3 (0.047 nats) the same sampling error is 20-30% of the truth.
    x, y = correlated_gaussians(5_000, dim, rho, seed=0)
    truth = correlated_gaussians_mi(dim, rho)
    value = ksg(x, y)
    assert abs(value - truth) < 0.05 * truth, (value, truth)


def test_ksg_of_independent_variables_is_near_zero():
    rng = np.random.default_rng(1)
    assert abs(ksg(rng.normal(size=(5_000, 2)), rng.normal(size=(5_000, 2)))) < 0.02


@pytest.mark.parametrize("scale", [1e-3, 0.1, 10.0, 100.0, 1e6])
def test_ksg_does_not_depend_on_the_units_of_either_side(scale):
    # The review's example (truth 1.661 nats): unstandardised KSG gave 1.654, 1.175 and 0.004 with y
    # times 1, 10 and 100. Standardised, the rescaled coordinates differ from the originals only in
    # the last bits and the tie-breaking noise is the same, so every neighbour count, and with them
    # the estimate, is exactly equal (a change would move it by at least about 1e-4, not by rounding).
    x, y = correlated_gaussians(2_000, 2, 0.9, seed=0)
    reference = ksg(x, y)
    assert ksg(x, scale * y) == reference
    assert ksg(scale * x, y) == reference
    assert ksg(x, y * np.array([1.0, scale])) == reference  # each coordinate on its own
    assert ksg(x + 1_000.0, scale * y - 7.0) == reference  # and a shift of either side


@pytest.mark.parametrize(
    "rho, x_scale, y_scale", [(0.3, 5.0, 0.2), (0.5, 1.0, 10.0), (0.9, 0.01, 1.0), (0.99, 1e3, 0.01)]
)
@pytest.mark.parametrize("seed", [0, 1])
def test_ksg_agrees_with_scikit_learn_in_one_dimension(rho, x_scale, y_scale, seed):
    # scikit-learn's mutual_info_regression runs the same estimator (KSG's first algorithm) on
    # unit-variance data with 1e-10 tie-breaking noise of its own (another generator, so another
    # draw). On continuous data neither noise reorders neighbours (the gaps between 2,000 distances
    # are about 1e-7, not 1e-10), so both count the same neighbours and differ only by the order of a
    # float64 sum: measured 3e-15, checked to 1e-12. (It clips negative estimates to 0; these MIs,
    # 0.05 to 1.96 nats, stay positive.)
    x, y = correlated_gaussians(2_000, 1, rho, seed=seed)
    x, y = x_scale * x, y_scale * y
    expected = mutual_info_regression(x, y[:, 0], n_neighbors=3, random_state=seed)[0]
    assert abs(ksg(x, y, k=3) - expected) < 1e-12


@pytest.mark.parametrize("seed", [-1, 1.5, True, None, 2**31, "0"])
def test_ksg_and_sample_propagation_reject_a_bad_seed(seed):
    x = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="seed must be an integer"):
        ksg(x, x, seed=seed)
    with pytest.raises(ValueError, match="seed must be an integer"):
        sample_propagation(x, 1.0, seed=seed)


@pytest.mark.parametrize(
    "x, y, k, name",
    [
        (np.zeros((10, 1)), np.zeros((9, 1)), 3, "same number of samples"),
        (np.zeros((3, 1)), np.zeros((3, 1)), 3, "k"),
        (np.zeros((10, 1)), np.zeros((10, 1)), 0, "k must be a positive integer"),
        (np.full((10, 1), np.nan), np.zeros((10, 1)), 3, "x contains NaN"),
    ],
)
def test_ksg_bad_input(x, y, k, name):
    with pytest.raises(ValueError, match=name):
        ksg(x, y, k)


def test_kde_bounds_are_ordered_and_within_zero_and_log_n():
    t = np.random.default_rng(0).normal(size=(500, 3))
    for sigma in (0.01, 0.3, 3.0, 300.0):
        lower, upper = kde_bounds(t, sigma)
        assert 0 <= lower <= upper <= np.log(500) + 1e-9, (sigma, lower, upper)


def test_kde_bounds_are_exact_for_well_separated_components():
    # Distinct points far apart at the scale sigma: T + eps identifies X, so I = H(X) = log n.
    t = np.arange(50.0)[:, None]
    lower, upper = kde_bounds(t, 0.05)
    np.testing.assert_allclose([lower, upper], np.log(50), rtol=1e-6)


def test_kde_bounds_bracket_and_sample_propagation_converges_on_a_2d_gaussian():
    # T = X ~ N(0, I_2), sigma = 0.5: I(X; T + eps) = log(1 + 1/0.25) = 1.609 nats. The pairwise bounds
    # bound the information of the n-point sample, whose value tends to the closed form, so for large
    # n they bracket it; their gap does not shrink with n (Kolchinsky & Tracey's bounds use pairwise
    # distances, which cannot resolve overlapping components). Sample propagation converges to it.
    exact = noisy_linear_mi(np.eye(2), 0.5)
    errors = []
    for n in (250, 1_000, 4_000):
        t = np.random.default_rng(n).normal(size=(n, 2))
        lower, upper = kde_bounds(t, 0.5)
        assert lower < exact < upper, (n, lower, exact, upper)
        errors.append(abs(sample_propagation(t, 0.5, noise_draws=20) - exact))
    # Measured errors 0.04, 0.01, 0.006 nats; the Monte-Carlo error over 4,000 x 20 draws is ~0.005.
    assert errors[-1] < 0.02 and errors[-1] < errors[0], errors


@pytest.mark.parametrize(
    "t, sigma, name",
    [
        (np.zeros((5, 2)), 0.0, "sigma"),
        (np.zeros((5, 2)), float("nan"), "sigma"),
        (np.zeros((5, 2)), 1e-170, "sigma is too small"),  # sigma**2 = 0 divided by zero
        (np.full((5, 2), np.inf), 1.0, "t contains NaN or inf"),
        (np.zeros((0, 2)), 1.0, "t has no samples"),
    ],
)
def test_kde_estimators_bad_input(t, sigma, name):
    with pytest.raises(ValueError, match=name):
        kde_bounds(t, sigma)
    with pytest.raises(ValueError, match=name):
        sample_propagation(t, sigma)


def _log_mean_kernel_float64(points, centres, scale):
    """The float64 reference: the whole distance matrix at once, scipy's log-sum-exp."""
    return logsumexp(-cdist(points, centres, "sqeuclidean") / scale, axis=1) - np.log(len(centres))


@pytest.mark.parametrize("block", [None, 5_000])  # the default block (one here), or 8 rows at a time
@pytest.mark.parametrize("dim, offset", [(2, 0.0), (3, 100.0), (50, 0.0)])
def test_kde_estimators_in_float32_blocks_match_a_float64_reference(block, dim, offset, monkeypatch):
    # The exponentials run in float32, in blocks of rows; the result must not move by 1e-4 nats from
    # a float64 computation on the whole matrix, from well separated components (sigma = 0.01) to
    # one blur (sigma = 300), and for points far from the origin (offset 100). Measured: below 1e-7.
    if block:
        monkeypatch.setattr(classical, "_BLOCK_ELEMENTS", block)
    n = 600
    t = np.random.default_rng(dim).normal(size=(n, dim)) + offset
    for sigma in (0.01, 0.3, 3.0, 300.0):
        lower = -np.mean(_log_mean_kernel_float64(t, t, 8 * sigma**2))
        upper = -np.mean(_log_mean_kernel_float64(t, t, 2 * sigma**2))
        np.testing.assert_allclose(kde_bounds(t, sigma), (lower, upper), rtol=0, atol=1e-4)
        rng = np.random.default_rng(5)  # sample_propagation's noise: one (n, d) draw per copy
        log_mean = [
            _log_mean_kernel_float64(t + sigma * rng.standard_normal(t.shape), t, 2 * sigma**2)
            for _ in range(2)
        ]
        expected = -np.mean(log_mean) - dim / 2
        assert abs(sample_propagation(t, sigma, noise_draws=2, seed=5) - expected) < 1e-4, sigma


def test_kde_estimators_memory_does_not_grow_with_n_squared():
    # n = 4,096: one n x n float64 matrix is 134 MB, and the estimators once held about four of them
    # (512 MB measured by tracemalloc). In blocks of rows they need O(n) plus a block of about 16 MB
    # (21 MB measured); benchmarks/classical_memory.py measures n = 20,000.
    t = np.random.default_rng(0).normal(size=(4_096, 10))
    for estimator in (lambda: kde_bounds(t, 0.5), lambda: sample_propagation(t, 0.5, noise_draws=1)):
        tracemalloc.start()
        try:
            estimator()
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 40e6, peak
