"""The 12-bit task of Shwartz-Ziv & Tishby, rebuilt: its patterns, symmetry, balance and I(X; Y)."""

import numpy as np
import pytest

from mi_lib.data import all_patterns, icosahedron_vertices, tishby_12bit


def test_every_pattern_once():
    x = all_patterns(12)
    assert x.shape == (4096, 12)
    assert set(np.unique(x)) == {0.0, 1.0}
    assert len(np.unique(x, axis=0)) == 4096


def test_vertices_form_an_icosahedron():
    v = icosahedron_vertices()
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0)
    np.testing.assert_allclose(v.sum(axis=0), 0.0, atol=1e-12)
    dots = v @ v.T
    # every vertex: five neighbours at cos = 1/sqrt(5), five at -1/sqrt(5), one antipode
    for row in dots:
        assert np.sum(np.isclose(row, 1 / np.sqrt(5))) == 5
        assert np.sum(np.isclose(row, -1 / np.sqrt(5))) == 5
        assert np.sum(np.isclose(row, -1.0)) == 1


def test_label_balance_and_mutual_information():
    task = tishby_12bit()
    # 2,036 of 4,096 patterns are labelled 1: the closest to one half that a threshold on the
    # 20 distinct scores allows
    assert task.y.sum() == 2036
    assert abs(task.label_balance - 0.5) < 0.005
    p = task.label_balance
    by_hand = -(p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert task.mutual_information() / np.log(2) == pytest.approx(by_hand, rel=1e-12)
    assert 0.9999 < by_hand <= 1.0
    assert task.entropy_x() == pytest.approx(12 * np.log(2))


def test_label_is_rotation_invariant():
    task = tishby_12bit()
    v = icosahedron_vertices()
    # a rotation of the icosahedral group: 72 degrees about the axis through vertex 0
    axis = v[0]
    angle = 2 * np.pi / 5
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    rotation = np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k
    image = v @ rotation.T
    permutation = np.array([np.argmin(np.linalg.norm(v - p, axis=1)) for p in image])
    np.testing.assert_allclose(v[permutation], image, atol=1e-9)
    assert sorted(permutation) == list(range(12)) and not np.all(permutation == np.arange(12))
    rotated = task.x[:, np.argsort(permutation)]
    codes = rotated.astype(int) @ (1 << np.arange(12)[::-1])
    np.testing.assert_array_equal(task.y[codes], task.y)
    # and swapping on and off leaves the label too (the vertices sum to zero)
    np.testing.assert_array_equal(task.y[::-1], task.y)


def test_bad_bits():
    with pytest.raises(ValueError, match="bits"):
        all_patterns(0)
    with pytest.raises(ValueError, match="bits"):
        all_patterns(30)
