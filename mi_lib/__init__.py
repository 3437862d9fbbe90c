"""mi_lib: neural estimation of mutual information, the library behind the course.

All mutual information is in nats; ``mi_lib.to_bits`` converts.
"""

import os

# TensorFlow's C++ start-up chatter drowns the one-line banner the chapters print.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from mi_lib.estimators import Estimate, estimate, estimate_many, estimate_noisy_layer  # noqa: E402
from mi_lib.settings import Profile, profile, setup  # noqa: E402

__version__ = "0.1.0"
__all__ = [
    "Estimate",
    "Profile",
    "estimate",
    "estimate_many",
    "estimate_noisy_layer",
    "profile",
    "setup",
    "to_bits",
]


def to_bits(nats):
    """Convert an information value from nats to bits."""
    import numpy as np

    return np.asarray(nats) / np.log(2.0)
