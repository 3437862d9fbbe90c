"""The classical (non-neural) estimators against ground truth."""

import numpy as np
import pytest

from mi_lib.classical import ksg
from mi_lib.truth import correlated_gaussians, correlated_gaussians_mi


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
