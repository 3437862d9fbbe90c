"""Tishby's binning estimator against small cases computed by hand."""

import numpy as np
import pytest

from mi_lib.classical import binning


def test_hand_computed_case():
    # Two bins on [-1, 1]: the activations fall into bins (0, 0, 0, 1, 1, 1, 1, 1) -> symbols A, B.
    t = np.array([-0.9, -0.5, -0.1, 0.1, 0.4, 0.6, 0.8, 0.95])
    y = np.array([0, 0, 1, 1, 1, 1, 1, 1])
    # p(A) = 3/8, p(B) = 5/8; joint: (A,0) 2/8, (A,1) 1/8, (B,1) 5/8; p(y=0) = 2/8.
    h_t = -(3 / 8 * np.log(3 / 8) + 5 / 8 * np.log(5 / 8))
    h_y = -(2 / 8 * np.log(2 / 8) + 6 / 8 * np.log(6 / 8))
    h_joint = -(2 / 8 * np.log(2 / 8) + 1 / 8 * np.log(1 / 8) + 5 / 8 * np.log(5 / 8))
    assert binning(t, y, bins=2) == pytest.approx(h_t + h_y - h_joint, abs=1e-12)
    # With the inputs themselves as labels (all distinct) it is H(T_binned).
    assert binning(t, np.arange(8), bins=2) == pytest.approx(h_t, abs=1e-12)


def test_rows_are_symbols_and_bins_refine():
    # Two coordinates; with 4 bins on [0, 1] the rows are (0,0), (0,0), (1,3), (3,1): three symbols.
    t = np.array([[0.1, 0.2], [0.05, 0.15], [0.3, 0.9], [0.8, 0.3]])
    x = np.eye(4)  # four distinct input patterns
    expected = -(0.5 * np.log(0.5) + 2 * 0.25 * np.log(0.25))
    assert binning(t, x, bins=4, value_range=(0, 1)) == pytest.approx(expected, abs=1e-12)
    # one bin: every row is the same symbol, no information
    assert binning(t, x, bins=1, value_range=(0, 1)) == 0.0
    # fine bins separate every row: log 4
    assert binning(t, x, bins=100, value_range=(0, 1)) == pytest.approx(np.log(4))


def test_values_outside_the_range_fall_into_the_edge_bins():
    t = np.array([-5.0, -1.0, 1.0, 7.0])
    assert binning(t, np.arange(4), bins=2) == pytest.approx(np.log(2))


def test_data_processing_for_a_function_of_the_binned_layer():
    # T2 = sign of T1: binning T2 coarser than T1, so I(X; T2) <= I(X; T1) and I(T2; Y) <= I(T1; Y).
    rng = np.random.default_rng(0)
    t1 = rng.uniform(-1, 1, (2000, 3))
    t2 = np.sign(t1)
    x = np.arange(2000)
    y = (t1.sum(1) > 0).astype(int)
    assert binning(t2, x) <= binning(t1, x) + 1e-12
    assert binning(t2, y) <= binning(t1, y) + 1e-12
    assert binning(t1, x) <= np.log(2000) + 1e-12


@pytest.mark.parametrize(
    "t, labels, kwargs, name",
    [
        (np.zeros(4), np.zeros(3), {}, "same number of samples"),
        (np.zeros(4), np.zeros(4), {"bins": 0}, "bins"),
        (np.zeros(4), np.zeros(4), {"value_range": (1, -1)}, "value_range"),
        (np.zeros(4), np.zeros(4), {"value_range": 3}, "value_range"),
        (np.full(4, np.nan), np.zeros(4), {}, "t contains NaN"),
        (np.zeros(4), np.full(4, np.inf), {}, "labels contains NaN or inf"),
        (np.zeros(4), np.zeros((4, 2, 2)), {}, "labels must be"),
    ],
)
def test_bad_input(t, labels, kwargs, name):
    with pytest.raises(ValueError, match=name):
        binning(t, labels, **kwargs)
