"""The Tishby network and its training record, for the information plane.

``record_training(config, x, y)`` trains the fully connected network of Shwartz-Ziv & Tishby
(2017), 12-10-7-5-4-3-2 by default, for every seed of a :class:`TrainingConfig`, and records at
log-spaced epochs everything the information plane needs (a :class:`Recording`), cached on disk
and resumable after an interruption. One concept per module:

- :mod:`~mi_lib.infoplane.network`: the network in numpy: ``TrainingConfig``, the forward pass,
  ``loss_and_gradients``, one Adam epoch of all seeds at once;
- :mod:`~mi_lib.infoplane.recording`: ``Recording``, what a record holds and gives (the
  activations of any layer, a layer as a Keras model);
- :mod:`~mi_lib.infoplane.storage`: the on-disk cache (key, checkpoints, atomic writes, a lock):
  arrays and files, nothing of the network;
- :mod:`~mi_lib.infoplane.training`: ``record_training``: the checks, then the cache or the
  training loop, which checkpoints through a callback.

Every public name of these modules is importable from here (``from mi_lib.infoplane import
TrainingConfig, record_training``). Names with a leading underscore are shared between the modules,
not part of the library's interface.
"""

from mi_lib.infoplane.network import ACTIVATIONS, ADAM_BETAS, ADAM_EPSILON, TrainingConfig, loss_and_gradients
from mi_lib.infoplane.recording import Recording
from mi_lib.infoplane.storage import FORMAT
from mi_lib.infoplane.training import record_training

__all__ = [
    "ACTIVATIONS",
    "ADAM_BETAS",
    "ADAM_EPSILON",
    "FORMAT",
    "Recording",
    "TrainingConfig",
    "loss_and_gradients",
    "record_training",
]
