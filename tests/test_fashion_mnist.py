"""The Fashion-MNIST loader: IDX files found in the search order, read exactly, and a clear error
that says how to get the data when there is none."""

import gzip
from pathlib import Path

import numpy as np
import pytest

from mi_lib import data
from mi_lib.data import FASHION_MNIST_FILES, find_fashion_mnist, load_fashion_mnist


def write_idx(path, array, magic):
    """An IDX file as LeCun's format defines it: magic, big-endian sizes, then the uint8 values."""
    header = magic.to_bytes(4, "big") + b"".join(int(s).to_bytes(4, "big") for s in array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + np.ascontiguousarray(array, np.uint8).tobytes())


def fake_fashion_mnist(folder, n_train=12, n_test=5, seed=0):
    """The four files of a tiny data set with known contents."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte.gz": (rng.integers(0, 256, (n_train, 28, 28)), 2051),
        "train-labels-idx1-ubyte.gz": (rng.integers(0, 10, n_train), 2049),
        "t10k-images-idx3-ubyte.gz": (rng.integers(0, 256, (n_test, 28, 28)), 2051),
        "t10k-labels-idx1-ubyte.gz": (rng.integers(0, 10, n_test), 2049),
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, (array, magic) in arrays.items():
        write_idx(folder / name, array, magic)
    return {name: array for name, (array, _) in arrays.items()}


def test_reads_the_files_of_a_given_directory_exactly(tmp_path):
    arrays = fake_fashion_mnist(tmp_path)
    loaded = load_fashion_mnist(tmp_path)
    assert loaded.source == str(tmp_path)
    np.testing.assert_array_equal(loaded.x_train, arrays["train-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(loaded.y_train, arrays["train-labels-idx1-ubyte.gz"])
    np.testing.assert_array_equal(loaded.x_test, arrays["t10k-images-idx3-ubyte.gz"])
    np.testing.assert_array_equal(loaded.y_test, arrays["t10k-labels-idx1-ubyte.gz"])
    assert loaded.x_train.dtype == np.uint8 and loaded.x_train.shape == (12, 28, 28)
    assert loaded.y_train.dtype == np.int64


def test_environment_variable_comes_first(tmp_path, monkeypatch):
    fake_fashion_mnist(tmp_path / "mine")
    monkeypatch.setenv(data.FASHION_MNIST_VARIABLE, str(tmp_path / "mine"))
    assert find_fashion_mnist() == tmp_path / "mine"
    assert len(load_fashion_mnist().x_train) == 12


def test_keras_cache_is_searched(tmp_path, monkeypatch):
    monkeypatch.delenv(data.FASHION_MNIST_VARIABLE, raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", str(tmp_path / "no-debian-package"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    fake_fashion_mnist(tmp_path / "keras" / "datasets" / "fashion-mnist")
    assert find_fashion_mnist() == tmp_path / "keras" / "datasets" / "fashion-mnist"


def test_empty_directory_raises_an_error_that_says_how_to_get_the_data(tmp_path):
    with pytest.raises(FileNotFoundError) as error:
        load_fashion_mnist(tmp_path)
    message = str(error.value)
    assert "apt-get install dataset-fashion-mnist" in message
    assert "keras.datasets.fashion_mnist.load_data()" in message
    assert data.FASHION_MNIST_VARIABLE in message
    assert str(tmp_path) in message  # where it looked


def test_nothing_anywhere_raises_the_same_error(tmp_path, monkeypatch):
    monkeypatch.setenv(data.FASHION_MNIST_VARIABLE, str(tmp_path / "empty"))
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST", str(tmp_path / "no-debian-package"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    with pytest.raises(FileNotFoundError, match="dataset-fashion-mnist"):
        load_fashion_mnist()


def test_a_partial_folder_is_not_used(tmp_path):
    fake_fashion_mnist(tmp_path)
    (tmp_path / FASHION_MNIST_FILES[-1]).unlink()
    with pytest.raises(FileNotFoundError):
        load_fashion_mnist(tmp_path)


def test_wrong_magic_and_truncated_files_are_rejected(tmp_path):
    fake_fashion_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(12), 2051)  # labels with an image magic
    with pytest.raises(ValueError, match="magic"):
        load_fashion_mnist(tmp_path)
    fake_fashion_mnist(tmp_path)
    path = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(path, "rb") as file:
        content = file.read()
    with gzip.open(path, "wb") as file:
        file.write(content[:-100])
    with pytest.raises(ValueError, match="truncated"):
        load_fashion_mnist(tmp_path)


def test_images_and_labels_must_agree_in_number(tmp_path):
    fake_fashion_mnist(tmp_path)
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.zeros(11), 2049)
    with pytest.raises(ValueError, match="differ in number"):
        load_fashion_mnist(tmp_path)


def test_the_installed_data_set_when_there_is_one():
    try:
        folder = find_fashion_mnist()
    except FileNotFoundError:
        pytest.skip("Fashion-MNIST is not installed here (make data-deps installs it)")
    loaded = load_fashion_mnist(folder)
    assert loaded.x_train.shape == (60_000, 28, 28) and loaded.x_test.shape == (10_000, 28, 28)
    # the official split is balanced: 6,000 training and 1,000 test images of every class
    assert np.all(np.bincount(loaded.y_train) == 6_000) and np.all(np.bincount(loaded.y_test) == 1_000)
