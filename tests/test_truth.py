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


def _student_pointwise(scale, dim_x, df, n, seed):
    x, y = truth.student_t_samples(n, scale, dim_x, df, seed=seed)
    return (
        stats.multivariate_t(shape=scale, df=df).logpdf(np.hstack([x, y]))
        - stats.multivariate_t(shape=scale[:dim_x, :dim_x], df=df).logpdf(x)
        - stats.multivariate_t(shape=scale[dim_x:, dim_x:], df=df).logpdf(y)
    )


@pytest.mark.parametrize(
    "scale, dim_x, df",
    [
        (np.array([[1.0, 0.5], [0.5, 1.0]]), 1, 1),  # Cauchy 1x1, correlated
        (np.eye(3), 2, 1),  # uncorrelated: all of I(X; Y) is the correction
        (None, 2, 2),  # 2x2, a random scale matrix
        (np.eye(4), 1, 5),
    ],
)
def test_student_t_mi_matches_monte_carlo(scale, dim_x, df):
    # E[log p(x, y) - log p(x) - log p(y)] with scipy's densities over samples from our sampler:
    # checks the correction's sign convention and the sampler together.
    if scale is None:
        a = np.random.default_rng(5).normal(size=(4, 4))
        scale = a @ a.T + 0.5 * np.eye(4)
    pointwise = _student_pointwise(scale, dim_x, df, 400_000, seed=6)
    se = pointwise.std() / np.sqrt(len(pointwise))
    exact = truth.student_t_mi(scale, dim_x, df)
    assert abs(pointwise.mean() - exact) < 4 * se, (pointwise.mean(), exact, se)


def test_student_t_correction_is_positive_and_vanishes_with_many_degrees_of_freedom():
    values = [truth.student_t_correction(df, 2, 3) for df in (1, 2, 10, 100, 10_000)]
    assert all(v > 0 for v in values)
    assert np.all(np.diff(values) < 0)
    assert values[-1] < 1e-5
    cov = np.array([[1.0, 0.6], [0.6, 1.0]])
    assert truth.student_t_mi(cov, 1, 1e6) == pytest.approx(truth.gaussian_mi(cov, 1), abs=1e-6)


def test_student_t_samples_have_the_right_margins():
    scale = np.array([[4.0, 1.0], [1.0, 1.0]])
    x, y = truth.student_t_samples(50_000, scale, 1, 1, seed=7)
    assert x.shape == y.shape == (50_000, 1)
    assert stats.kstest(x[:, 0] / 2.0, stats.cauchy.cdf).pvalue > 0.01  # standard Cauchy / scale
    x, y = truth.student_t_samples(50_000, scale, 1, 2, seed=8)
    assert stats.kstest(y[:, 0], stats.t(df=2).cdf).pvalue > 0.01


def test_gaussian_samples_have_the_covariance():
    cov = np.array([[1.0, 0.3, 0.5], [0.3, 2.0, -0.4], [0.5, -0.4, 1.5]])
    x, y = truth.gaussian_samples(200_000, cov, 2, seed=9)
    assert x.shape == (200_000, 2) and y.shape == (200_000, 1)
    np.testing.assert_allclose(np.cov(np.hstack([x, y]).T), cov, atol=0.02)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: truth.student_t_mi(np.eye(2), 1, 0), "df"),
        (lambda: truth.student_t_mi(np.eye(2), 1, np.inf), "df"),
        (lambda: truth.student_t_mi(np.eye(2), 2, 1), "dim_x"),
        (lambda: truth.student_t_mi([[1, 2], [2, 1]], 1, 1), "scale"),
        (lambda: truth.student_t_correction(1, 0, 1), "dim_x"),
        (lambda: truth.student_t_samples(0, np.eye(2), 1, 1), "n"),
        (lambda: truth.student_t_samples(10, np.ones((2, 3)), 1, 1), "scale"),
        (lambda: truth.gaussian_samples(10, [[1, 0], [0, -1]], 1), "cov"),
        (lambda: truth.gaussian_samples(10, np.eye(2), 0), "dim_x"),
    ],
)
def test_student_t_and_gaussian_samplers_bad_input(call, name):
    with pytest.raises(ValueError, match=name):
        call()
