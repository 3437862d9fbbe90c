"""Ground truth against independent Monte-Carlo estimates."""

import numpy as np
import pytest
from scipy import stats

from mi_lib import truth


def test_gaussian_mi_matches_monte_carlo_for_a_random_covariance():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    cov = a @ a.T + 0.5 * np.eye(5)
    dim_x = 2
    exact = truth.gaussian_mi(cov, dim_x)
    samples = rng.multivariate_normal(np.zeros(5), cov, size=400_000)
    pointwise = (
        stats.multivariate_normal(cov=cov).logpdf(samples)
        - stats.multivariate_normal(cov=cov[:dim_x, :dim_x]).logpdf(samples[:, :dim_x])
        - stats.multivariate_normal(cov=cov[dim_x:, dim_x:]).logpdf(samples[:, dim_x:])
    )
    se = pointwise.std() / np.sqrt(len(pointwise))
    assert abs(pointwise.mean() - exact) < 4 * se, (pointwise.mean(), exact, se)


def test_mine_paper_sampler_and_its_closed_form():
    x, y = truth.correlated_gaussians(200_000, 3, 0.7, seed=1)
    corr = np.corrcoef(x.T, y.T)
    np.testing.assert_allclose(np.diag(corr[:3, 3:]), 0.7, atol=0.01)
    np.testing.assert_allclose(corr[:3, 3:] - np.diag(np.diag(corr[:3, 3:])), 0, atol=0.01)
    cov = np.block([[np.eye(3), 0.7 * np.eye(3)], [0.7 * np.eye(3), np.eye(3)]])
    assert truth.correlated_gaussians_mi(3, 0.7) == pytest.approx(truth.gaussian_mi(cov, 3))


@pytest.mark.parametrize("task", [truth.MixtureTask.overlapping(), truth.MixtureTask.separated()])
def test_mixture_quadrature_agrees_with_monte_carlo(task):
    value, error = task.mutual_information()
    assert error < 1e-6
    mc, se = task.monte_carlo_mi(400_000, seed=3)
    assert abs(mc - value) < 4 * se + error, (value, mc, se)


def test_mixture_presets_are_what_the_chapter_says():
    overlapping, _ = truth.MixtureTask.overlapping().mutual_information()
    separated, _ = truth.MixtureTask.separated().mutual_information()
    assert 0.05 < overlapping < 0.5 * np.log(2)  # clearly below log 2
    assert np.log(2) - 0.01 < separated <= np.log(2)  # near log 2 = H(Z), never above it


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: truth.gaussian_mi(np.ones((2, 3)), 1), "cov"),
        (lambda: truth.gaussian_mi([[1, 2], [0, 1]], 1), "cov"),
        (lambda: truth.gaussian_mi([[1, 0], [0, -1]], 1), "cov"),
        (lambda: truth.gaussian_mi(np.eye(3), 3), "dim_x"),
        (lambda: truth.correlated_gaussians(10, 2, 1.0), "rho"),
        (lambda: truth.correlated_gaussians(0, 2, 0.5), "n"),
        (lambda: truth.correlated_gaussians_mi(0, 0.5), "dim"),
        (lambda: truth.MixtureTask((0,), (0.5,), ((0, 0),), (1,)), "weights"),
    ],
)
def test_bad_input_names_the_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_noisy_linear_mi_equals_the_gaussian_formula_of_the_joint_covariance():
    rng = np.random.default_rng(3)
    a = rng.normal(size=(3, 4))
    b = rng.normal(size=(4, 4))
    cov_x, sigma = b @ b.T + 0.1 * np.eye(4), 0.7
    joint = np.block([[cov_x, cov_x @ a.T], [a @ cov_x, a @ cov_x @ a.T + sigma**2 * np.eye(3)]])
    np.testing.assert_allclose(
        truth.noisy_linear_mi(a, sigma, cov_x), truth.gaussian_mi(joint, 4), rtol=1e-10
    )


def test_noisy_linear_mi_matches_monte_carlo():
    # I(X; AX + eps) = E[log p(y | x) - log p(y)] over joint samples, with p(y | x) = N(Ax, s^2 I).
    rng = np.random.default_rng(4)
    a, sigma = rng.normal(size=(5, 8)) / np.sqrt(8), 0.5
    x = rng.normal(size=(300_000, 8))
    y = x @ a.T + sigma * rng.normal(size=(300_000, 5))
    pointwise = stats.multivariate_normal(cov=sigma**2 * np.eye(5)).logpdf(
        y - x @ a.T
    ) - stats.multivariate_normal(cov=a @ a.T + sigma**2 * np.eye(5)).logpdf(y)
    se = pointwise.std() / np.sqrt(len(pointwise))
    exact = truth.noisy_linear_mi(a, sigma)
    assert abs(pointwise.mean() - exact) < 4 * se, (pointwise.mean(), exact, se)


def test_noisy_linear_mi_grows_without_bound_as_the_noise_vanishes():
    a = np.eye(3)
    values = [truth.noisy_linear_mi(a, s) for s in (1.0, 0.1, 0.01, 0.001)]
    # Each decade of smaller noise adds d_T log 10 nats once sigma is far below the signal.
    np.testing.assert_allclose(np.diff(values)[-1], 3 * np.log(10), rtol=1e-3)


@pytest.mark.parametrize(
    "a, sigma, cov, name",
    [
        (np.ones((2, 3)), 0.0, None, "sigma"),
        (np.ones((2, 3)), -1.0, None, "sigma"),
        (np.full((2, 3), np.nan), 1.0, None, "a"),
        (np.ones((2, 3)), 1.0, np.eye(2), "cov"),
    ],
)
def test_noisy_linear_mi_bad_input(a, sigma, cov, name):
    with pytest.raises(ValueError, match=name):
        truth.noisy_linear_mi(a, sigma, cov)
