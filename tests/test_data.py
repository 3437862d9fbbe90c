"""The 12-bit task of Shwartz-Ziv & Tishby, rebuilt: its patterns, symmetry, balance and I(X; Y);
and the cats-vs-dogs images of the original study, skipped with a reason where they are missing.
(Fashion-MNIST: tests/test_fashion_mnist.py.)"""

import numpy as np
import pytest

from mi_lib import data
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


def test_cats_vs_dogs_without_a_folder_is_unavailable(tmp_path, monkeypatch):
    monkeypatch.delenv(data.CATS_VS_DOGS_VARIABLE, raising=False)
    with pytest.raises(data.Unavailable, match=data.CATS_VS_DOGS_VARIABLE):
        data.load_cats_vs_dogs()
    with pytest.raises(data.Unavailable, match="Cat"):
        data.load_cats_vs_dogs(tmp_path)


def test_cats_vs_dogs_reads_a_petimages_folder_and_skips_broken_files(tmp_path):
    import tensorflow as tf

    for label, sub in enumerate(("Cat", "Dog")):
        (tmp_path / sub).mkdir()
        for i in range(3):
            image = tf.fill((20, 30, 3), tf.constant(40 + 100 * label, tf.uint8))
            tf.io.write_file(str(tmp_path / sub / f"{i}.jpg"), tf.io.encode_jpeg(image))
        (tmp_path / sub / "broken.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    x, y = data.load_cats_vs_dogs(tmp_path, size=8, per_class=3)
    assert x.shape == (6, 8, 8, 3) and x.dtype == np.float32
    assert sorted(y.tolist()) == [0, 0, 0, 1, 1, 1]
    assert x[y == 1].mean() > x[y == 0].mean() + 50  # the dogs are the brighter pictures here
