"""Image backbones for the transfer-learning study: a zoo of small networks pretrained here, and the
six ImageNet models of ``keras.applications`` that the original study used, where their weights are
on disk.

The zoo keeps the four families of the study and their defining blocks, scaled down to 28 x 28
grey images and a few thousand to a few tens of thousands of parameters:

- ``resnet_v1``: residual blocks conv-BN-ReLU-conv-BN, added to the shortcut, then ReLU
  (He et al. 2016a);
- ``resnet_v2``: pre-activation blocks BN-ReLU-conv-BN-ReLU-conv added to an untouched identity
  path, with BN-ReLU once before pooling (He et al. 2016b);
- ``inception``: parallel 1x1, 1x1-3x3, 1x1-3x3-3x3 (a factorised 5x5) and pool-1x1 branches,
  concatenated (Szegedy et al. 2016), with a strided reduction block between the stages;
- ``xception``: depthwise-separable convolutions in residual blocks (Chollet 2017).

Every backbone has the same outline: a strided 3x3 stem (28 -> 14 pixels), a stage of ``blocks``
blocks of ``width`` channels, a downsampling stage of ``blocks`` blocks of ``2 * width`` channels
(14 -> 7 pixels), and global average pooling. The pooled vector is the embedding, as with
``keras.applications`` models built with ``include_top=False, pooling="avg"``.

``pretrain`` trains a backbone with a softmax head on some classes of Fashion-MNIST and caches the
backbone's weights on disk, keyed by a hash of the architecture, the training configuration and
the data, so a chapter trains each backbone once per machine (a cache file that cannot be read is
reported and the backbone trained again).
"""

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mi_lib._checks import choice, positive_int, positive_number
from mi_lib._files import cache_dir, discard_unreadable, exclusive_lock, load_arrays, save_arrays
from mi_lib.data import Unavailable  # raised here too: ImageNet weights that are not on disk

FAMILIES = ("resnet_v1", "resnet_v2", "inception", "xception")
# Keras' default 0.99 leaves the moving statistics of batch normalisation far from the data after the
# few hundred steps of a short pretraining, and the model then fails in inference mode.
BN_MOMENTUM = 0.9
FORMAT = 1  # bump when the architectures or the cached layout change: old entries are then ignored


@dataclass(frozen=True)
class BackboneConfig:
    """One architecture of the zoo: family, blocks per stage, channels of the first stage."""

    family: str
    blocks: int = 1
    width: int = 16
    name: str = ""

    def __post_init__(self):
        choice("family", self.family, FAMILIES)
        positive_int("blocks", self.blocks)
        positive_int("width", self.width)
        if self.width % 4:
            raise ValueError(
                f"width must be a multiple of 4 (the inception branches split it), got {self.width}"
            )

    @property
    def label(self):
        return self.name or f"{self.family}-{self.blocks}x{self.width}"

    @property
    def embedding_dim(self):
        return 2 * self.width


# Eight backbones, two of each family: a shallow narrow one and a deeper wider one.
ZOO = (
    BackboneConfig("resnet_v1", blocks=1, width=12, name="ResNet v1 S"),
    BackboneConfig("resnet_v1", blocks=2, width=16, name="ResNet v1 L"),
    BackboneConfig("resnet_v2", blocks=1, width=12, name="ResNet v2 S"),
    BackboneConfig("resnet_v2", blocks=2, width=16, name="ResNet v2 L"),
    BackboneConfig("inception", blocks=1, width=12, name="Inception S"),
    BackboneConfig("inception", blocks=2, width=16, name="Inception L"),
    BackboneConfig("xception", blocks=1, width=12, name="Xception S"),
    BackboneConfig("xception", blocks=2, width=16, name="Xception L"),
)


def _layers():
    import keras

    return keras.layers


def _conv_bn(x, filters, kernel=3, strides=1, relu=True):
    layers = _layers()
    x = layers.Conv2D(filters, kernel, strides=strides, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    return layers.ReLU()(x) if relu else x


def _resnet_v1_block(x, filters, strides):
    layers = _layers()
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:  # projection shortcut where the shape changes
        shortcut = _conv_bn(x, filters, 1, strides, relu=False)
    x = _conv_bn(x, filters, 3, strides)
    x = _conv_bn(x, filters, 3, relu=False)
    return layers.ReLU()(layers.Add()([shortcut, x]))


def _resnet_v2_block(x, filters, strides):
    layers = _layers()
    pre = layers.ReLU()(
        layers.BatchNormalization(momentum=BN_MOMENTUM)(x)
    )  # pre-activation, shared with the projection
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, use_bias=False)(pre)
    y = layers.Conv2D(filters, 3, strides=strides, padding="same", use_bias=False)(pre)
    y = layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM)(y))
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    return layers.Add()([shortcut, y])  # no activation after the addition: the identity path is clean


def _inception_block(x, filters, strides):
    layers = _layers()
    quarter = filters // 4
    if strides != 1:  # reduction block: strided convolutions beside a max-pooled projection
        a = _conv_bn(x, filters // 2, 3, strides)
        b = _conv_bn(_conv_bn(x, quarter, 1), filters // 4, 3, strides)
        c = _conv_bn(layers.MaxPooling2D(3, strides=strides, padding="same")(x), quarter, 1)
        return layers.Concatenate()([a, b, c])
    a = _conv_bn(x, quarter, 1)
    b = _conv_bn(_conv_bn(x, quarter, 1), quarter, 3)
    c = _conv_bn(_conv_bn(_conv_bn(x, quarter, 1), quarter, 3), quarter, 3)  # 5x5 factorised
    d = _conv_bn(layers.AveragePooling2D(3, strides=1, padding="same")(x), quarter, 1)
    return layers.Concatenate()([a, b, c, d])


def _xception_block(x, filters, strides):
    layers = _layers()
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=strides, padding="same", use_bias=False)(x)
        shortcut = layers.BatchNormalization(momentum=BN_MOMENTUM)(shortcut)
    y = layers.ReLU()(x)
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM)(y))
    y = layers.SeparableConv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization(momentum=BN_MOMENTUM)(y)
    if strides != 1:
        y = layers.MaxPooling2D(3, strides=strides, padding="same")(y)
    return layers.Add()([shortcut, y])


BLOCKS = {
    "resnet_v1": _resnet_v1_block,
    "resnet_v2": _resnet_v2_block,
    "inception": _inception_block,
    "xception": _xception_block,
}
IMAGE_SHAPE = (28, 28, 1)


def _seed(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value!r}")
    return int(value)


def _flag(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _folder(name, value):
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path (str or os.PathLike) or None, got {value!r}")
    return value


def build_backbone(config, seed=0):
    """A Keras model from images (n, 28, 28, 1) in [0, 1] to embeddings (n, 2 * width)."""
    import keras

    if not isinstance(config, BackboneConfig):
        raise ValueError(f"config must be a BackboneConfig, got {config!r}")
    keras.utils.set_random_seed(_seed("seed", seed))
    layers = keras.layers
    images = keras.Input(IMAGE_SHAPE, name="images")
    if config.family == "resnet_v2":  # v2 stems are a bare convolution: the blocks pre-activate
        x = layers.Conv2D(config.width, 3, strides=2, padding="same", use_bias=False)(images)
    else:
        x = _conv_bn(images, config.width, 3, strides=2)
    block = BLOCKS[config.family]
    for stage, filters in enumerate((config.width, 2 * config.width)):
        for i in range(config.blocks):
            x = block(x, filters, strides=2 if stage == 1 and i == 0 else 1)
    if config.family == "resnet_v2":
        x = layers.ReLU()(layers.BatchNormalization(momentum=BN_MOMENTUM)(x))
    embedding = layers.GlobalAveragePooling2D(name="embedding")(x)
    return keras.Model(images, embedding, name=config.label.replace(" ", "_"))


def as_images(x):
    """Images (n, 28, 28), (n, 28, 28, 1) or (n, 784) -> float32 (n, 28, 28, 1) in [0, 1]: uint8
    images in 0-255 are divided by 255; any other numbers must already lie in [0, 1]."""
    x = np.asarray(x)
    if x.ndim not in (2, 3, 4) or x.shape[0] == 0:
        raise ValueError(f"x must hold images (n, 28, 28), (n, 28, 28, 1) or (n, 784), got shape {x.shape}")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating) or x.dtype == bool):
        raise ValueError(f"x must hold numbers (uint8 in 0-255 or floats in [0, 1]), got dtype {x.dtype}")
    if x.size != len(x) * 784:
        raise ValueError(f"x must hold 28 x 28 images, got shape {x.shape}")
    if x.dtype == np.uint8:
        x = x.astype(np.float32) / np.float32(255.0)
    else:
        if not np.all(np.isfinite(x)):
            raise ValueError("x contains NaN or inf")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(
                f"x must lie in [0, 1] unless it is uint8 (0-255), got values in [{x.min()}, {x.max()}]: "
                "divide by 255 or pass uint8"
            )
        x = x.astype(np.float32)
    return x.reshape((len(x), *IMAGE_SHAPE))


def embed(model, x, batch_size=2048):
    """The embeddings of images ``x`` (see :func:`as_images`) as float32 (n, d), in inference mode."""
    if not callable(model):
        raise ValueError(f"model must be a Keras model (callable), got {model!r}")
    images = as_images(x)
    batch_size = positive_int("batch_size", batch_size)
    parts = [
        np.asarray(model(images[i : i + batch_size], training=False))
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts).astype(np.float32)


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
    seed = _seed("seed", seed)
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
    seed, cache, verbose = _seed("seed", seed), _flag("cache", cache), _flag("verbose", verbose)
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
                weights = {f"w{i}": w for i, w in enumerate(backbone.get_weights())}
                stored = dict(weights, count=len(weights), test_accuracy=found.test_accuracy)
                save_arrays(path, dict(stored, seconds=found.seconds))
    return found


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


# --- The original configuration: ImageNet models of keras.applications -------------------------


@dataclass(frozen=True)
class Application:
    """One keras.applications model: its constructor, the file of its ImageNet weights without the
    classification top, the module whose ``preprocess_input`` it needs, its input size."""

    name: str
    constructor: object  # name of the keras.applications function, or a callable (tests)
    weights_file: str
    preprocess: str
    size: int


APPLICATIONS = {
    a.name: a
    for a in (
        Application(
            "ResNet50", "ResNet50", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5", "resnet", 224
        ),
        Application(
            "ResNet50V2",
            "ResNet50V2",
            "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "resnet_v2",
            224,
        ),
        Application(
            "ResNet101", "ResNet101", "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5", "resnet", 224
        ),
        Application(
            "ResNet101V2",
            "ResNet101V2",
            "resnet101v2_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "resnet_v2",
            224,
        ),
        Application(
            "InceptionV3",
            "InceptionV3",
            "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5",
            "inception_v3",
            299,
        ),
        Application(
            "Xception", "Xception", "xception_weights_tf_dim_ordering_tf_kernels_notop.h5", "xception", 299
        ),
    )
}
WEIGHTS_VARIABLE = "MI_IMAGENET_WEIGHTS_DIR"


def weights_folders(weights_dir=None):
    """Where ImageNet weights are looked for: ``weights_dir``, ``$MI_IMAGENET_WEIGHTS_DIR``, and
    Keras' own cache (``$KERAS_HOME`` or ``~/.keras``, then ``models``), where keras.applications
    puts what it downloads."""
    _folder("weights_dir", weights_dir)
    folders = [Path(weights_dir).expanduser()] if weights_dir is not None else []
    if os.environ.get(WEIGHTS_VARIABLE):
        folders.append(Path(os.environ[WEIGHTS_VARIABLE]).expanduser())
    folders.append(Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "models")
    return folders


def load_application(name, weights_dir=None, download=False):
    """Build keras.applications' ``name`` without its top, global-average pooled, with ImageNet
    weights from a local file; return ``(model, preprocess_input, size)``. With ``download=True``
    Keras may download the weights; otherwise a missing file raises :class:`Unavailable`."""
    import importlib

    import keras

    if not isinstance(name, str):
        raise ValueError(f"name must be one of {sorted(APPLICATIONS)}, got {name!r}")
    choice("name", name, APPLICATIONS)
    _folder("weights_dir", weights_dir)
    _flag("download", download)
    app = APPLICATIONS[name]
    found = next(
        (f / app.weights_file for f in weights_folders(weights_dir) if (f / app.weights_file).is_file()), None
    )
    if found is None and not download:
        searched = ", ".join(str(f) for f in weights_folders(weights_dir))
        raise Unavailable(f"no ImageNet weights for {name}: {app.weights_file} is not in {searched}")
    constructor = (
        app.constructor if callable(app.constructor) else getattr(keras.applications, app.constructor)
    )
    weights = str(found) if found is not None else "imagenet"
    try:
        model = constructor(
            include_top=False, weights=weights, pooling="avg", input_shape=(app.size, app.size, 3)
        )
    except Exception as error:  # a corrupt file, a failed download: skip, saying why
        raise Unavailable(f"{name} could not be loaded with weights {weights}: {error}") from error
    preprocess = importlib.import_module(f"keras.applications.{app.preprocess}").preprocess_input
    return model, preprocess, app.size


def load_applications(names=tuple(APPLICATIONS), weights_dir=None, download=False, report=print):
    """Every model of ``names`` that can be loaded, as {name: (model, preprocess, size)}; each one
    that cannot is skipped with its reason passed to ``report``."""
    if isinstance(names, str) or not np.iterable(names):
        raise ValueError(f"names must be a list of model names, got {names!r}")
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"names must be a list of model names, got {names!r}")
        choice("names", name, APPLICATIONS)
    _folder("weights_dir", weights_dir)
    _flag("download", download)
    if not callable(report):
        raise ValueError(f"report must be callable (print, list.append), got {report!r}")
    loaded = {}
    for name in names:
        try:
            loaded[name] = load_application(name, weights_dir, download)
        except Unavailable as reason:
            report(f"skipped {name}: {reason}")
    return loaded
