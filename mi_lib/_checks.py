"""Input validation shared by the public functions: every error names the argument at fault."""

import os

import numpy as np


def as_samples(name, value):
    """Return ``value`` as a float64 array of shape (n, features), or raise a ValueError naming ``name``."""
    arr = np.asarray(value)
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be real, got complex dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 1-D (n,) or 2-D (n, features), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} has no samples (shape {arr.shape})")
    if arr.shape[1] == 0:
        raise ValueError(f"{name} has no features (shape {arr.shape})")
    arr = arr.astype(np.float64)
    bad = ~np.isfinite(arr)
    if bad.any():
        row = int(np.argwhere(bad)[0][0])
        raise ValueError(f"{name} contains NaN or inf ({int(bad.sum())} values, first in row {row})")
    return arr


def positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def fraction(name, value, low=0.0, high=1.0, include_high=False):
    """A number in (low, high), or in (low, high] with ``include_high``."""
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (number and low < value and (value <= high if include_high else value < high)):
        raise ValueError(
            f"{name} must be a number in ({low}, {high}{']' if include_high else ')'}, got {value!r}"
        )
    return float(value)


def choice(name, value, options):
    try:
        known = value in options
    except TypeError:  # unhashable: not one of the names
        known = False
    if not known:
        raise ValueError(f"{name} must be one of {sorted(options)}, got {value!r}")
    return value


def positive_number(name, value, allow_inf=False):
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if not (number and (np.isfinite(value) or allow_inf and value == np.inf) and value > 0):
        kind = "positive number (inf allowed)" if allow_inf else "positive finite number"
        raise ValueError(f"{name} must be a {kind}, got {value!r}")
    return float(value)


def widths(name, value):
    """Layer widths: a sequence of positive integers, as a tuple."""
    if isinstance(value, (str, bytes)) or not np.iterable(value):
        raise ValueError(f"{name} must be a sequence of layer widths, got {value!r}")
    return tuple(positive_int(name, w) for w in value)


def seed(name, value, high=2**31 - 1):
    """A seed: None (drawn and then recorded) or an integer in [0, high); the default bound is what
    TensorFlow's int32 stateless seeds hold."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < high:
        raise ValueError(f"{name} must be None or an integer in [0, {high}), got {value!r}")
    return int(value)


def seed32(name, value):
    """A required seed of Keras' initialisers and of numpy: an integer of 32 bits."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an integer in [0, 2**32), got {value!r}")
    return int(value)


def flag(name, value):
    """True or False (numpy's too), as a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def optional_path(name, value):
    """A path (str or os.PathLike), or None."""
    if value is not None and not isinstance(value, (str, os.PathLike)):
        raise ValueError(f"{name} must be a path (str or os.PathLike) or None, got {value!r}")
    return value


def draw_seed():
    """A fresh seed from numpy's global generator (which ``mi_lib.setup`` seeds)."""
    return int(np.random.randint(2**31 - 1))
