"""Image backbones for the transfer-learning study: a zoo of small networks pretrained here, and the
six ImageNet models of ``keras.applications`` that the original study used, where their weights are
on disk. One concept per module:

- :mod:`~mi_lib.backbones.zoo`: the architectures: the four families (``FAMILIES``), their blocks,
  ``BackboneConfig``, the eight backbones of ``ZOO``, ``build_backbone``; images in, embeddings
  out (``as_images``, ``embed``);
- :mod:`~mi_lib.backbones.pretraining`: ``pretrain`` on Fashion-MNIST classes with its on-disk cache
  (``PretrainConfig``, ``Pretrained``, ``cache_key``);
- :mod:`~mi_lib.backbones.applications`: the keras.applications loader (``APPLICATIONS``,
  ``load_application``, ``load_applications``, ``weights_folders``, ``Unavailable``).

Every public name of these modules is importable from here (``from mi_lib import backbones;
backbones.ZOO``); a name is read where it is defined, so a patch goes to that module
(``backbones.applications.APPLICATIONS``).
"""

from mi_lib.backbones.applications import (
    APPLICATIONS,
    WEIGHTS_VARIABLE,
    Application,
    Unavailable,
    load_application,
    load_applications,
    weights_folders,
)
from mi_lib.backbones.pretraining import FORMAT, PretrainConfig, Pretrained, cache_key, pretrain
from mi_lib.backbones.zoo import (
    BLOCKS,
    BN_MOMENTUM,
    FAMILIES,
    IMAGE_SHAPE,
    ZOO,
    BackboneConfig,
    as_images,
    build_backbone,
    embed,
)

__all__ = [
    "APPLICATIONS",
    "BLOCKS",
    "BN_MOMENTUM",
    "FAMILIES",
    "FORMAT",
    "IMAGE_SHAPE",
    "WEIGHTS_VARIABLE",
    "ZOO",
    "Application",
    "BackboneConfig",
    "PretrainConfig",
    "Pretrained",
    "Unavailable",
    "as_images",
    "build_backbone",
    "cache_key",
    "embed",
    "load_application",
    "load_applications",
    "pretrain",
    "weights_folders",
]
