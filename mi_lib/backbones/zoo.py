"""The zoo of backbones: small networks of the four families of the transfer-learning study.

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
``keras.applications`` models built with ``include_top=False, pooling="avg"``: :func:`embed` computes
it on images that :func:`as_images` checks and scales.
"""

from dataclasses import dataclass

import numpy as np

from mi_lib._checks import choice, positive_int, seed32

FAMILIES = ("resnet_v1", "resnet_v2", "inception", "xception")
# Keras' default 0.99 leaves the moving statistics of batch normalisation far from the data after the
# few hundred steps of a short pretraining, and the model then fails in inference mode.
BN_MOMENTUM = 0.9


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


def build_backbone(config, seed=0):
    """A Keras model from images (n, 28, 28, 1) in [0, 1] to embeddings (n, 2 * width)."""
    import keras

    if not isinstance(config, BackboneConfig):
        raise ValueError(f"config must be a BackboneConfig, got {config!r}")
    keras.utils.set_random_seed(seed32("seed", seed))
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
