"""The original configuration of the transfer-learning study: the six ImageNet models of
``keras.applications``, loaded where their weights are on disk.

:func:`load_applications` builds ResNet50, ResNet50V2, ResNet101, ResNet101V2, InceptionV3 and
Xception without their classification top, global-average pooled, with ImageNet weights found in
:func:`weights_folders`; a model whose weights are missing (or cannot be read) is skipped, saying
why (:class:`Unavailable`), unless ``download=True`` lets Keras fetch them.
"""

import importlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mi_lib._checks import choice, flag, optional_path
from mi_lib.data import Unavailable  # raised here too: ImageNet weights that are not on disk


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
    optional_path("weights_dir", weights_dir)
    folders = [Path(weights_dir).expanduser()] if weights_dir is not None else []
    if os.environ.get(WEIGHTS_VARIABLE):
        folders.append(Path(os.environ[WEIGHTS_VARIABLE]).expanduser())
    folders.append(Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser() / "models")
    return folders


def load_application(name, weights_dir=None, download=False):
    """Build keras.applications' ``name`` without its top, global-average pooled, with ImageNet
    weights from a local file; return ``(model, preprocess_input, size)``. With ``download=True``
    Keras may download the weights; otherwise a missing file raises :class:`Unavailable`."""
    import keras

    if not isinstance(name, str):
        raise ValueError(f"name must be one of {sorted(APPLICATIONS)}, got {name!r}")
    choice("name", name, APPLICATIONS)
    optional_path("weights_dir", weights_dir)
    flag("download", download)
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
    optional_path("weights_dir", weights_dir)
    flag("download", download)
    if not callable(report):
        raise ValueError(f"report must be callable (print, list.append), got {report!r}")
    loaded = {}
    for name in names:
        try:
            loaded[name] = load_application(name, weights_dir, download)
        except Unavailable as reason:
            report(f"skipped {name}: {reason}")
    return loaded
