"""The backbone zoo, its pretraining cache, and the keras.applications configuration that is
skipped, with its reason, where ImageNet weights are not on disk."""

import re
from collections import Counter

import keras
import numpy as np
import pytest

from mi_lib import backbones
from mi_lib._files import CacheWarning
from mi_lib.backbones import ZOO, BackboneConfig, PretrainConfig
from mi_lib.data import FashionMNIST


@pytest.mark.parametrize("config", ZOO, ids=[c.label for c in ZOO])
def test_each_zoo_backbone_builds_and_embeds_a_batch(config):
    model = backbones.build_backbone(config, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (5, 28, 28)).astype(np.uint8)
    e = backbones.embed(model, images)
    assert e.shape == (5, config.embedding_dim) and e.dtype == np.float32
    assert np.all(np.isfinite(e))
    assert np.ptp(e, axis=0).max() > 0  # different images, different embeddings
    assert 1_000 < model.count_params() < 100_000  # tiny, as the quick profile needs


def test_the_zoo_has_two_backbones_of_each_family():
    assert len(ZOO) >= 8
    assert Counter(c.family for c in ZOO) == {f: 2 for f in backbones.FAMILIES}
    assert len({c.label for c in ZOO}) == len(ZOO)


def test_bad_configurations_and_images_are_rejected():
    with pytest.raises(ValueError, match="family"):
        BackboneConfig("vgg")
    with pytest.raises(ValueError, match="width"):
        BackboneConfig("inception", width=10)
    with pytest.raises(ValueError, match="blocks"):
        BackboneConfig("resnet_v1", blocks=0)
    with pytest.raises(ValueError, match="config"):
        backbones.build_backbone("resnet_v1")
    with pytest.raises(ValueError, match="28 x 28"):
        backbones.as_images(np.zeros((3, 32, 32)))
    with pytest.raises(ValueError, match="x must hold images"):
        backbones.as_images(np.zeros(5))


def test_images_are_scaled_to_the_unit_interval():
    x = np.full((2, 28, 28), 255, np.uint8)
    np.testing.assert_allclose(backbones.as_images(x), 1.0)
    flat = np.full((2, 784), 0.5, np.float32)
    assert backbones.as_images(flat).shape == (2, 28, 28, 1)


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    y_train, y_test = np.repeat(np.arange(10), 24), np.repeat(np.arange(10), 4)
    # a class is a brightness level, so one epoch can learn something
    x_train = np.clip(rng.normal(20 * y_train[:, None, None], 10, (240, 28, 28)), 0, 255).astype(np.uint8)
    x_test = np.clip(rng.normal(20 * y_test[:, None, None], 10, (40, 28, 28)), 0, 255).astype(np.uint8)
    return FashionMNIST(x_train, y_train, x_test, y_test, "synthetic")


def test_pretraining_is_cached_by_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_CACHE_DIR", str(tmp_path))
    fashion = tiny_data()
    config, training = ZOO[6], PretrainConfig(classes=(1, 3, 5, 7), samples=64, epochs=1, batch_size=32)
    first = backbones.pretrain(config, fashion, training, seed=0)
    assert not first.cached and 0.0 <= first.test_accuracy <= 1.0
    assert len(list((tmp_path / "backbones").glob("*.npz"))) == 1
    again = backbones.pretrain(config, fashion, training, seed=0)
    assert again.cached and again.test_accuracy == first.test_accuracy
    x = fashion.x_test[:6]
    np.testing.assert_array_equal(backbones.embed(again.model, x), backbones.embed(first.model, x))
    # a different seed or configuration is a different entry, never the cached one
    other = backbones.pretrain(config, fashion, training, seed=1)
    assert not other.cached
    assert len(list((tmp_path / "backbones").glob("*.npz"))) == 2


def test_an_unreadable_weights_file_is_reported_and_the_backbone_trained_again(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_CACHE_DIR", str(tmp_path))
    fashion = tiny_data()
    config, training = ZOO[6], PretrainConfig(classes=(1, 3, 5, 7), samples=64, epochs=1, batch_size=32)
    backbones.pretrain(config, fashion, training, seed=0)
    [path] = (tmp_path / "backbones").glob("*.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.warns(CacheWarning, match=re.escape(str(path))) as caught:
        again = backbones.pretrain(config, fashion, training, seed=0)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert not again.cached
    third = backbones.pretrain(config, fashion, training, seed=0)  # stored again, readable
    assert third.cached and third.test_accuracy == again.test_accuracy
    x = fashion.x_test[:6]
    np.testing.assert_array_equal(backbones.embed(third.model, x), backbones.embed(again.model, x))


def test_cache_keys_change_with_everything_that_determines_the_weights():
    training = PretrainConfig()
    keys = {
        backbones.cache_key(ZOO[0], training, 0, "data"),
        backbones.cache_key(ZOO[1], training, 0, "data"),
        backbones.cache_key(ZOO[0], PretrainConfig(epochs=3), 0, "data"),
        backbones.cache_key(ZOO[0], training, 1, "data"),
        backbones.cache_key(ZOO[0], training, 0, "other data"),
    }
    assert len(keys) == 5
    assert backbones.cache_key(ZOO[0], training, 0, "data") == backbones.cache_key(
        ZOO[0], training, 0, "data"
    )


def test_pretraining_rejects_bad_classes():
    with pytest.raises(ValueError, match="classes"):
        backbones.pretrain(ZOO[0], tiny_data(), PretrainConfig(classes=(1, 1)))


@pytest.fixture
def no_imagenet_weights(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv(backbones.WEIGHTS_VARIABLE, raising=False)
    return tmp_path / "weights"


def test_without_imagenet_weights_the_original_configuration_is_skipped_with_reasons(
    no_imagenet_weights, capsys
):
    loaded = backbones.load_applications(weights_dir=no_imagenet_weights)
    assert loaded == {}
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 6
    for name, line in zip(backbones.APPLICATIONS, printed, strict=True):
        assert line.startswith(f"skipped {name}: no ImageNet weights")
        assert backbones.APPLICATIONS[name].weights_file in line and str(no_imagenet_weights) in line


def test_a_single_missing_model_raises_unavailable(no_imagenet_weights):
    with pytest.raises(backbones.Unavailable, match="Xception"):
        backbones.load_application("Xception", weights_dir=no_imagenet_weights)
    with pytest.raises(ValueError, match="name"):
        backbones.load_application("VGG16")


def tiny_application(include_top, weights, pooling, input_shape):
    """Stands in for a keras.applications constructor: same signature, a few hundred parameters."""
    assert not include_top and pooling == "avg"
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))
    if weights is not None:
        model.load_weights(weights)
    return model


def test_weights_found_on_disk_are_loaded(tmp_path, monkeypatch, no_imagenet_weights):
    keras.utils.set_random_seed(0)
    saved = tiny_application(False, None, "avg", (16, 16, 3))
    no_imagenet_weights.mkdir()
    saved.save_weights(no_imagenet_weights / "tiny_notop.weights.h5")
    tiny = backbones.Application("Tiny", tiny_application, "tiny_notop.weights.h5", "resnet", 16)
    monkeypatch.setattr(backbones.applications, "APPLICATIONS", {"Tiny": tiny})
    loaded = backbones.load_applications(["Tiny"], weights_dir=no_imagenet_weights)
    model, preprocess, size = loaded["Tiny"]
    assert size == 16 and preprocess is keras.applications.resnet.preprocess_input
    for a, b in zip(model.get_weights(), saved.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    # the same file found through the environment variable
    monkeypatch.setenv(backbones.WEIGHTS_VARIABLE, str(no_imagenet_weights))
    assert "Tiny" in backbones.load_applications(["Tiny"])


def test_a_corrupt_weights_file_is_a_reason_to_skip(monkeypatch, no_imagenet_weights):
    no_imagenet_weights.mkdir()
    (no_imagenet_weights / "tiny_notop.weights.h5").write_bytes(b"not an HDF5 file")
    tiny = backbones.Application("Tiny", tiny_application, "tiny_notop.weights.h5", "resnet", 16)
    monkeypatch.setattr(backbones.applications, "APPLICATIONS", {"Tiny": tiny})
    reasons = []
    assert backbones.load_applications(["Tiny"], weights_dir=no_imagenet_weights, report=reasons.append) == {}
    assert reasons and reasons[0].startswith("skipped Tiny: Tiny could not be loaded")
