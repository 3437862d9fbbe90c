"""Run profile, seeding and the one-line banner every chapter prints first.

``MI_PROFILE`` picks the scale of every experiment: ``quick`` (CI and laptops: each chapter in a
couple of minutes on two CPU cores), ``full`` (the published book on a GPU: the study's sample sizes,
steps and sweeps) or ``auto`` (the default: ``full`` where TensorFlow sees a GPU, else ``quick``).
Chapters read their sizes from the returned :class:`Profile`, never from their own ``if`` statements.
"""

import os
import platform
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mi_lib._checks import flag, seed32

PROFILE_VARIABLE = "MI_PROFILE"


@dataclass(frozen=True)
class Profile:
    """The sizes of a run. Every chapter takes its sample counts and step counts from here."""

    name: str
    samples: int  # samples drawn for one estimation experiment
    steps: int  # maximum critic training steps of one estimate
    seeds: int  # independent repetitions where a chapter shows a spread
    mc_samples: int  # Monte-Carlo samples for checks against a closed form
    sweep: int  # points of a parameter sweep (for example the correlations of chapter 4)


PROFILES = {
    "quick": Profile("quick", samples=5_000, steps=2_000, seeds=2, mc_samples=200_000, sweep=7),
    "full": Profile("full", samples=20_000, steps=20_000, seeds=5, mc_samples=2_000_000, sweep=13),
}


def gpu_names():
    """Names of the GPUs TensorFlow sees (empty on a CPU-only machine)."""
    import tensorflow as tf

    return [d.name for d in tf.config.list_physical_devices("GPU")]


def profile(name=None):
    """Resolve the run profile: ``name`` if given, else ``$MI_PROFILE``, else ``auto``."""
    return _resolve(name, "name")


def _resolve(name, argument):
    if name is not None and not isinstance(name, str):
        raise ValueError(f"{argument} must be one of quick, full, auto (or None), got {name!r}")
    source = argument if name else f"${PROFILE_VARIABLE}"
    name = name or os.environ.get(PROFILE_VARIABLE, "auto") or "auto"
    name = name.strip().lower()
    if name == "auto":
        name = "full" if gpu_names() else "quick"
    if name not in PROFILES:
        raise ValueError(f"{source} must be one of quick, full, auto; got {name!r}")
    return PROFILES[name]


def seed_everything(seed):
    """Seed Python's ``random``, numpy and TensorFlow/Keras from one integer."""
    import keras

    keras.utils.set_random_seed(seed32("seed", seed))


def device_description():
    gpus = gpu_names()
    if gpus:
        import tensorflow as tf

        details = tf.config.experimental.get_device_details(tf.config.list_physical_devices("GPU")[0])
        count = f" x{len(gpus)}" if len(gpus) > 1 else ""
        return f"GPU ({details.get('device_name', gpus[0])}{count})"
    return f"CPU ({os.cpu_count()} cores, {platform.machine()})"


def banner(prof):
    """The line every chapter prints first: profile, device and versions."""
    import keras
    import tensorflow as tf

    if not isinstance(prof, Profile):
        raise ValueError(f"prof must be a Profile (see profile()), got {prof!r}")
    return (
        f"mi_lib | profile {prof.name} | device {device_description()} | "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}, numpy {np.__version__}"
    )


STYLE = Path(__file__).with_name("course.mplstyle")


def setup(seed=0, profile_name=None, verbose=True):
    """Start a chapter: resolve the profile, seed everything, apply the figure style, print the
    banner; return the Profile."""
    import matplotlib.pyplot as plt

    seed = seed32("seed", seed)
    flag("verbose", verbose)
    prof = _resolve(profile_name, "profile_name")
    seed_everything(seed)
    plt.style.use(STYLE)
    if verbose:
        print(banner(prof))
    return prof
