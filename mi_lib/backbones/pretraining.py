"""Pretraining a backbone of the zoo, with its on-disk cache.

:func:`pretrain` trains a backbone with a softmax head on some classes of Fashion-MNIST and caches
the backbone's weights on disk, keyed by a hash of the architecture, the training configuration and
the data (:func:`cache_key`), so a chapter trains each backbone once per machine (a cache file that
cannot be read is reported and the backbone trained again; a process that finds another one
pretraining the same backbone waits for it and reads its weights).
"""

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mi_lib._checks import flag, positive_int, positive_number, seed32
from mi_lib._files import cache_dir, discard_unreadable, exclusive_lock, load_arrays, save_arrays
from mi_lib.backbones.zoo import BackboneConfig, as_images, build_backbone

FORMAT = 1  # bump when the architectures or the cached layout change: old entries are then ignored


@dataclass(frozen=True)
class PretrainConfig:
    """How a backbone is pretrained: which classes, how many images, epochs, batch, learning rate."""

    classes: tuple = (1, 2, 3, 4, 5, 7, 8, 9)
    samples: int = 48_000  # training images of those classes used (a stratified subset)
    epochs: int = 10
    batch_size: int = 128
    learning_rate: float = 2e-3

    def __post_init__(self):
        if isinstance(self.classes, (str, bytes)) or not np.iterable(self.classes):
            raise ValueError(f"classes must be a tuple of class numbers, got {self.classes!r}")
        classes = tuple(self.classes)
        for c in classes:
            if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or c < 0:
                raise ValueError(f"classes must hold non-negative integers, got {self.classes!r}")
        if len(set(classes)) != len(classes) or len(classes) < 2:
            raise ValueError(f"classes must name at least two distinct classes, got {self.classes!r}")
        object.__setattr__(self, "classes", tuple(int(c) for c in classes))
        for name in ("samples", "epochs", "batch_size"):
            positive_int(name, getattr(self, name))
        if self.samples < len(classes):
            raise ValueError(f"samples must be at least one per class ({len(classes)}), got {self.samples}")
        rate = positive_number("learning_rate", self.learning_rate)
        if type(self.learning_rate) not in (int, float):  # numpy scalars: a plain number, as in the cache key
            object.__setattr__(self, "learning_rate", rate)


@dataclass(frozen=True)
class Pretrained:
    """A pretrained backbone: the embedding model, its accuracy on the pretraining task's test
    images (with the head it was trained with), where it came from."""

    config: BackboneConfig
    seed: int
    model: object  # keras.Model, images -> embeddings
    test_accuracy: float
    seconds: float  # of training (as recorded when it was trained, also when loaded from cache)
    cached: bool  # True when loaded from disk


def _fingerprint(*arrays):
    digest = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(a)
        digest.update(str((a.shape, a.dtype.str)).encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def cache_key(config, training, seed, data_fingerprint):
    """The cache file name of one pretrained backbone: a hash of everything that determines it."""
    if not isinstance(config, BackboneConfig):
        raise ValueError(f"config must be a BackboneConfig, got {config!r}")
    if not isinstance(training, PretrainConfig):
        raise ValueError(f"training must be a PretrainConfig, got {training!r}")
    if not isinstance(data_fingerprint, str):
        raise ValueError(f"data_fingerprint must be a str, got {data_fingerprint!r}")
    seed = seed32("seed", seed)
    description = json.dumps(
        dict(
            format=FORMAT,
            backbone=asdict(config),
            training=asdict(training),
            seed=int(seed),
            data=data_fingerprint,
        ),
        sort_keys=True,
    )
    return f"backbone-{hashlib.sha256(description.encode()).hexdigest()[:20]}.npz"


def _stratified(y, classes, samples, seed):
    """Indices of ``samples`` examples of ``classes``, as equal per class as the data allows."""
    rng = np.random.default_rng([seed, 7])
    per_class = samples // len(classes)
    chosen = []
    for c in classes:
        idx = np.flatnonzero(y == c)
        if len(idx) == 0:
            raise ValueError(f"classes: no examples of class {c}")
        chosen.append(rng.permutation(idx)[:per_class])
    return rng.permutation(np.concatenate(chosen))


def pretrain(config, data, training=PretrainConfig(), seed=0, cache=True, verbose=False):
    """Pretrain ``config`` on ``training.classes`` of ``data`` (a :class:`mi_lib.data.FashionMNIST`)
    with a softmax head and Adam; return a :class:`Pretrained`. With ``cache`` the backbone's
    weights are read from, or written atomically to, ``cache_dir()/backbones``; a process that finds
    another one pretraining the same backbone waits for it and reads its weights."""
    if not isinstance(config, BackboneConfig):
        raise ValueError(f"config must be a BackboneConfig, got {config!r}")
    if not all(hasattr(data, name) for name in ("x_train", "y_train", "x_test", "y_test")):
        raise ValueError(f"data must be a FashionMNIST (x_train, y_train, x_test, y_test), got {data!r}")
    if not isinstance(training, PretrainConfig):
        raise ValueError(f"training must be a PretrainConfig, got {training!r}")
    seed, cache, verbose = seed32("seed", seed), flag("cache", cache), flag("verbose", verbose)
    classes = training.classes
    train = _stratified(data.y_train, classes, training.samples, seed)
    test = np.flatnonzero(np.isin(data.y_test, classes))
    x_train, x_test = as_images(data.x_train[train]), as_images(data.x_test[test])
    relabel = np.full(max(10, max(classes) + 1), -1)
    relabel[list(classes)] = np.arange(len(classes))
    y_train, y_test = relabel[data.y_train[train]], relabel[data.y_test[test]]

    backbone = build_backbone(config, seed)
    if not cache:
        return _pretrain(config, seed, backbone, training, (x_train, y_train, x_test, y_test), verbose)
    path = Path(cache_dir()) / "backbones" / cache_key(config, training, seed, _fingerprint(x_train, y_train))
    found = _cached(config, seed, backbone, path)
    if found is None:
        with exclusive_lock(path.with_suffix(".lock")):
            # another process may have stored the weights while this one waited for the lock
            found = _cached(config, seed, backbone, path)
            if found is None:
                found = _pretrain(
                    config, seed, backbone, training, (x_train, y_train, x_test, y_test), verbose
                )
                _store(path, found)
    return found


def _store(path, pretrained):
    """Write the weights of a freshly pretrained backbone, its accuracy and time, atomically."""
    weights = {f"w{i}": w for i, w in enumerate(pretrained.model.get_weights())}
    stored = dict(weights, count=len(weights), test_accuracy=pretrained.test_accuracy)
    save_arrays(path, dict(stored, seconds=pretrained.seconds))


def _cached(config, seed, backbone, path):
    """The pretrained backbone stored at ``path``, or None when there is none or it cannot be used
    (reported: see :func:`mi_lib._files.load_arrays`)."""
    stored = load_arrays(path)
    if stored is None:
        return None
    shapes = [w.shape for w in backbone.get_weights()]
    expected = {f"w{i}" for i in range(len(shapes))} | {"count", "test_accuracy", "seconds"}
    if set(stored) != expected or [stored[f"w{i}"].shape for i in range(len(shapes))] != shapes:
        discard_unreadable(path, f"it does not hold the {len(shapes)} weight arrays of {config.label}")
        return None
    backbone.set_weights([stored[f"w{i}"] for i in range(len(shapes))])
    accuracy, seconds = float(stored["test_accuracy"]), float(stored["seconds"])
    return Pretrained(config, seed, backbone, accuracy, seconds, True)


def _pretrain(config, seed, backbone, training, arrays, verbose):
    import keras

    x_train, y_train, x_test, y_test = arrays
    started = time.perf_counter()
    head = keras.layers.Dense(len(training.classes), activation="softmax", name="pretraining_head")
    classifier = keras.Sequential([backbone, head])
    classifier.compile(
        keras.optimizers.Adam(training.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    classifier.fit(
        x_train,
        y_train,
        batch_size=training.batch_size,
        epochs=training.epochs,
        verbose=int(verbose) * 2,
    )
    accuracy = float(classifier.evaluate(x_test, y_test, batch_size=2048, verbose=0)[1])
    return Pretrained(config, seed, backbone, accuracy, time.perf_counter() - started, False)
