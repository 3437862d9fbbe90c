"""mi_lib: neural estimation of mutual information, the library behind the course.

All mutual information is in nats; ``mi_lib.to_bits`` converts.

The TensorFlow-backed names (``estimate``, ``Estimate``, ...) and the submodules are loaded on first
use (PEP 562), so ``import mi_lib.truth`` or ``mi_lib.classical`` does not start TensorFlow.
"""

import importlib
import os

# TensorFlow's C++ start-up chatter drowns the one-line banner the chapters print.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mi_lib.settings import Profile, profile, setup  # noqa: E402  (numpy only)

__version__ = "0.1.0"

# Public names defined in a module that imports TensorFlow: resolved from it on first access.
_LAZY = {
    "Estimate": "mi_lib.estimators",
    "Options": "mi_lib.estimators",
    "estimate": "mi_lib.estimators",
    "estimate_many": "mi_lib.estimators",
    "estimate_noisy_layer": "mi_lib.estimators",
}
_SUBMODULES = (
    "backbones",
    "bounds",
    "classical",
    "critics",
    "data",
    "estimators",
    "flow",
    "infoplane",
    "results",
    "settings",
    "truth",
    "weights_info",
)

__all__ = [  # every name of _LAZY, and those defined or imported here
    "Estimate",
    "Options",
    "Profile",
    "estimate",
    "estimate_many",
    "estimate_noisy_layer",
    "profile",
    "setup",
    "to_bits",
]


def __getattr__(name):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _SUBMODULES:  # mi_lib.estimators etc. without their own import, as before
        value = importlib.import_module(f"{__name__}.{name}")
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later look-ups do not come back here
    return value


def __dir__():
    return sorted({*globals(), *_LAZY, *_SUBMODULES})


def to_bits(nats):
    """Convert an information value from nats to bits."""
    import numpy as np

    nats = np.asarray(nats)
    if nats.dtype.kind in "USV":
        raise ValueError(f"nats must be a number or an array of numbers, got dtype {nats.dtype}")
    try:
        return nats / np.log(2.0)
    except TypeError:  # an object array holding something other than numbers
        raise ValueError(f"nats must be a number or an array of numbers, got {nats!r:.80}") from None
