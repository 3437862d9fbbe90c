"""The record of a training run: what the information plane needs, at log-spaced epochs.

A :class:`Recording` holds, for every seed of its :class:`~mi_lib.infoplane.network.TrainingConfig`:

- the weights and biases of every layer, from which :meth:`Recording.activations` recomputes the
  activations of every layer on any inputs (exactly: the same float64 arithmetic as training). A
  record of the weights is a thousand times smaller than one of the activations on all 4,096
  patterns and loses nothing;
- the loss and the accuracy on the training and the held-out patterns;
- at every epoch, for every weight matrix, the norm of the mean and of the standard deviation of
  its minibatch gradients over the epoch: the gradient signal-to-noise ratio of their figure 4.

:meth:`Recording.layer_model` gives any recorded layer as a frozen Keras model, which is what
AA-MINE embeds in its critic. A record is kept (and cached) as a few named arrays: :func:`_layout`
lists them, :func:`_from_arrays` makes the :class:`Recording`.
"""

from dataclasses import dataclass

import numpy as np

from mi_lib._checks import as_samples
from mi_lib.infoplane.network import TrainingConfig, _forward, _n_train, _shapes, _unflatten


@dataclass(frozen=True)
class Recording:
    """The record of one configuration: arrays indexed [seed, record, ...] or [seed, epoch, layer]."""

    config: TrainingConfig
    epochs: np.ndarray  # (R,) the recorded epochs
    weights: list  # per layer (K, R, d_in, d_out)
    biases: list  # per layer (K, R, d_out)
    loss: np.ndarray  # (K, R) training loss at the recorded epochs
    train_accuracy: np.ndarray  # (K, R)
    test_accuracy: np.ndarray  # (K, R)
    gradient_mean: np.ndarray  # (K, epochs, layers) norm of the epoch's mean minibatch gradient
    gradient_std: np.ndarray  # (K, epochs, layers) norm of its standard deviation over minibatches
    train_index: np.ndarray  # (K, n_train) the training patterns of each seed
    seconds: float  # training time, summed over resumed parts

    @property
    def layers(self):
        return len(self.weights)

    def _check_indices(self, seed_index, record_index):
        for name, value, size in (
            ("seed_index", seed_index, len(self.config.seeds)),
            ("record_index", record_index, len(self.epochs)),
        ):
            if isinstance(value, bool) or not (
                isinstance(value, (int, np.integer)) and -size <= value < size
            ):
                raise ValueError(f"{name} must be an integer in [-{size}, {size}), got {value!r}")

    def activations(self, x, seed_index=0, record_index=-1):
        """The activations of every layer (hidden layers, then the softmax output) on inputs x (n, 12)
        for one seed and one recorded epoch: a list of float64 arrays (n, width)."""
        x = as_samples("x", x)
        if x.shape[1] != self.weights[0].shape[2]:
            raise ValueError(f"x must have {self.weights[0].shape[2]} columns (the inputs), got {x.shape[1]}")
        self._check_indices(seed_index, record_index)
        weights = [w[seed_index, record_index][None] for w in self.weights]
        biases = [b[seed_index, record_index][None] for b in self.biases]
        outputs, _, probabilities = _forward(weights, biases, x[None], self.config.activation)
        return [o[0] for o in outputs[1:]] + [probabilities[0]]

    def layer_model(self, layer, seed_index=0, record_index=-1):
        """Layer ``layer`` (0-based; the last is the softmax output) of one recorded network as a
        frozen Keras model from the inputs (n, 12) float32 to its activations."""
        import keras

        if isinstance(layer, bool) or not (isinstance(layer, (int, np.integer)) and 0 <= layer < self.layers):
            raise ValueError(f"layer must be an integer in [0, {self.layers}), got {layer!r}")
        self._check_indices(seed_index, record_index)
        inputs = keras.Input((self.weights[0].shape[2],))
        h = inputs
        for i in range(layer + 1):
            w = self.weights[i][seed_index, record_index].astype(np.float32)
            b = self.biases[i][seed_index, record_index].astype(np.float32)
            last = i == self.layers - 1
            dense = keras.layers.Dense(w.shape[1], activation="softmax" if last else self.config.activation)
            h = dense(h)
            dense.set_weights([w, b])
        model = keras.Model(inputs, h, name=f"layer_{layer}")
        model.trainable = False
        return model


def _layout(config, n_patterns, n_inputs):
    """The arrays of the record of ``config`` on ``n_patterns`` patterns of ``n_inputs`` inputs:
    name -> (shape, dtype kind)."""
    k, epochs, r = len(config.seeds), config.epochs, len(config.recorded_epochs())
    size = sum(int(np.prod(shape)) for shape in _shapes(config, n_inputs))
    return {
        "gradient_mean": ((k, epochs, len(config.widths)), "f"),
        "gradient_std": ((k, epochs, len(config.widths)), "f"),
        **{name: ((k, r), "f") for name in ("loss", "train_accuracy", "test_accuracy")},
        "records": ((k, r, size), "f"),
        "split": ((k, n_patterns), "i"),
        "epochs": ((r,), "i"),
        "seconds": ((), "f"),
    }


def _from_arrays(config, arrays, n_inputs):
    """The :class:`Recording` of ``config`` from its arrays (as :func:`_layout` lists them)."""
    n_train = _n_train(config, arrays["split"].shape[1])
    weights, biases = _unflatten(arrays["records"], _shapes(config, n_inputs))
    return Recording(
        config=config,
        epochs=arrays["epochs"],
        weights=weights,
        biases=biases,
        loss=arrays["loss"],
        train_accuracy=arrays["train_accuracy"],
        test_accuracy=arrays["test_accuracy"],
        gradient_mean=arrays["gradient_mean"],
        gradient_std=arrays["gradient_std"],
        train_index=arrays["split"][:, :n_train],
        seconds=float(arrays["seconds"]),
    )
