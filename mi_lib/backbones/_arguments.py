"""Checks of the arguments that the backbones' modules share."""

import os

import numpy as np


def seed(name, value):
    """A seed of Keras' initialisers and of numpy: an integer of 32 bits."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value!r}")
    return int(value)


def flag(name, value):
    """True or False (numpy's too), as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def folder(name, value):
    """A path (str or os.PathLike), or None."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path (str or os.PathLike) or None, got {value!r}")
    return value
