"""The Tishby network in numpy: what is trained, its forward pass and gradients, one Adam epoch.

The fully connected network of Shwartz-Ziv & Tishby (2017), 12-10-7-5-4-3-2 by default, trained with
Adam on minibatches of an 80/20 split (:class:`TrainingConfig`). A ``batch_size`` of at least the
number of training patterns trains by full-batch steps: each step follows the exact gradient of the
training loss, with no minibatch noise (Saxe et al.'s test of whether that noise causes compression).

Why numpy and not Keras: the network has 254 parameters, so a training step costs nothing but
framework overhead. Written out in numpy with batched matrix products, all the seeds of one
configuration train together, one step for all of them, at a few milliseconds per epoch; the
gradient (:func:`loss_and_gradients`) is checked against TensorFlow's automatic differentiation in
the tests. All parameters of the stacked networks live in one flat array (seeds, P), of which the
weights and biases of each layer are views.
"""

from dataclasses import dataclass, field

import numpy as np

from mi_lib._checks import choice, fraction, positive_int, positive_number

ACTIVATIONS = ("tanh", "relu")
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-7  # Keras' default


def _as_tuple(name, value):
    if isinstance(value, (str, bytes)) or not np.iterable(value):
        raise ValueError(f"{name} must be a tuple of integers, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class TrainingConfig:
    """What is trained: the network, the optimiser, the split and the recorded epochs."""

    hidden: tuple = (10, 7, 5, 4, 3)  # widths of the hidden layers; the output layer has 2 units
    activation: str = "tanh"  # of the hidden layers; the output is a softmax
    train_fraction: float = 0.8  # of the patterns used for training; the rest are held out
    epochs: int = 8000
    records: int = 100  # log-spaced recorded epochs (fewer after rounding to distinct integers)
    batch_size: int = 256  # at least the training patterns: full-batch training, no gradient noise
    learning_rate: float = 4e-4
    seeds: tuple = field(default=(0,))  # one network per seed: its split, initial weights, batches

    def __post_init__(self):
        hidden = _as_tuple("hidden", self.hidden)
        if not hidden:
            raise ValueError("hidden must name at least one hidden layer width")
        for width in hidden:
            positive_int("hidden", width)
        object.__setattr__(self, "hidden", tuple(int(w) for w in hidden))
        choice("activation", self.activation, ACTIVATIONS)
        fraction("train_fraction", self.train_fraction)
        for name in ("epochs", "records", "batch_size"):
            positive_int(name, getattr(self, name))
        rate = positive_number("learning_rate", self.learning_rate)
        if type(self.learning_rate) not in (int, float):  # numpy scalars: a plain number, as in the cache key
            object.__setattr__(self, "learning_rate", rate)
        seeds = _as_tuple("seeds", self.seeds)
        if not seeds or len(set(seeds)) != len(seeds):
            raise ValueError(f"seeds must be a non-empty tuple of distinct integers, got {self.seeds!r}")
        for s in seeds:
            if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 0:
                raise ValueError(f"seeds must be non-negative integers, got {s!r}")
        object.__setattr__(self, "seeds", tuple(int(s) for s in seeds))

    @property
    def widths(self):
        return (*self.hidden, 2)

    def recorded_epochs(self):
        """Epoch 0 (the initial weights) and ``records`` log-spaced epochs up to ``epochs``."""
        spaced = np.round(np.logspace(0, np.log10(self.epochs), self.records)).astype(int)
        return np.unique(np.concatenate([[0], spaced, [self.epochs]]))


def _activate(z, activation):
    return np.tanh(z) if activation == "tanh" else np.maximum(z, 0.0)


def _forward(weights, biases, x, activation):
    """Activations of every layer for stacked networks: x (K, n, 12) -> list of (K, n, width), the
    last one the softmax output; also the logits."""
    outputs = [x]
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        z = outputs[-1] @ w + b[:, None, :]
        if i < len(weights) - 1:
            outputs.append(_activate(z, activation))
    logits = z
    shifted = logits - logits.max(axis=-1, keepdims=True)
    probabilities = np.exp(shifted)
    probabilities /= probabilities.sum(axis=-1, keepdims=True)
    return outputs, logits, probabilities


def loss_and_gradients(weights, biases, x, y_onehot, activation):
    """Mean softmax cross-entropy of stacked networks on a batch, and its gradients by backprop.

    weights[i] (K, d_in, d_out), biases[i] (K, d_out), x (K, b, d), y_onehot (K, b, c). Returns
    (loss (K,), weight gradients, bias gradients)."""
    choice("activation", activation, ACTIVATIONS)
    weights, biases = list(weights), list(biases)
    if not weights or len(biases) != len(weights):
        raise ValueError(
            f"weights and biases must be lists of one array per layer, got {len(weights)} and {len(biases)}"
        )
    x = _finite_array("x", x, 3)
    k, width = x.shape[0], x.shape[2]
    for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
        w, b = _finite_array(f"weights[{i}]", w, 3), _finite_array(f"biases[{i}]", b, 2)
        if w.shape[:2] != (k, width) or b.shape != (k, w.shape[2]):
            raise ValueError(
                f"weights[{i}] {w.shape} and biases[{i}] {b.shape} must be ({k}, {width}, d) and ({k}, d) "
                "to follow the previous layer"
            )
        weights[i], biases[i], width = w, b, w.shape[2]
    y_onehot = _finite_array("y_onehot", y_onehot, 3)
    if y_onehot.shape != (*x.shape[:2], width):
        raise ValueError(f"y_onehot must have shape {(*x.shape[:2], width)}, got {y_onehot.shape}")
    return _loss_and_gradients(weights, biases, x, y_onehot, activation)


def _finite_array(name, value, ndim):
    array = np.asarray(value)
    if not (np.issubdtype(array.dtype, np.number) and array.ndim == ndim and array.size):
        raise ValueError(
            f"{name} must be a non-empty {ndim}-D numeric array, got {array.dtype} {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf")
    return array


def _loss_and_gradients(weights, biases, x, y_onehot, activation):
    outputs, logits, probabilities = _forward(weights, biases, x, activation)
    n = x.shape[1]
    log_probabilities = logits - logits.max(-1, keepdims=True)
    log_probabilities -= np.log(np.exp(log_probabilities).sum(-1, keepdims=True))
    loss = -np.sum(y_onehot * log_probabilities, axis=(1, 2)) / n
    delta = (probabilities - y_onehot) / n  # d loss / d logits
    grad_w, grad_b = [None] * len(weights), [None] * len(weights)
    for i in range(len(weights) - 1, -1, -1):
        grad_w[i] = np.swapaxes(outputs[i], 1, 2) @ delta
        grad_b[i] = delta.sum(axis=1)
        if i > 0:
            delta = delta @ np.swapaxes(weights[i], 1, 2)
            h = outputs[i]
            delta *= (1.0 - h**2) if activation == "tanh" else (h > 0)
    return loss, grad_w, grad_b


def _shapes(config, n_inputs):
    widths = (n_inputs, *config.widths)
    shapes = []
    for a, b in zip(widths[:-1], widths[1:], strict=False):
        shapes += [(a, b), (b,)]
    return shapes


def _unflatten(flat, shapes):
    """Views of the weights and biases inside the flat parameter array (..., P): no copies."""
    parts, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        parts.append(flat[..., offset : offset + size].reshape(*flat.shape[:-1], *shape))
        offset += size
    return parts[0::2], parts[1::2]


def _n_train(config, n_patterns):
    """The number of training patterns of each seed's split: at least 2, and at least one held out."""
    n_train = int(round(config.train_fraction * n_patterns))
    if not 2 <= n_train < n_patterns:
        raise ValueError(
            f"train_fraction {config.train_fraction} of {n_patterns} patterns leaves {n_train} for "
            "training: need at least 2 and at least one held out"
        )
    return n_train


def _initial_state(config, n_inputs, n_patterns):
    """Weights N(0, 1/fan_in), zero biases, zero Adam moments; each seed's split of the patterns.
    All parameters of a network live in one flat array (K, P), so that Adam is a few array
    operations per step rather than a few per layer."""
    shapes = _shapes(config, n_inputs)
    size = sum(int(np.prod(s)) for s in shapes)
    params = np.zeros((len(config.seeds), size))
    splits = []
    weights, _ = _unflatten(params, shapes)
    for k, seed in enumerate(config.seeds):
        rng = np.random.default_rng([seed, 0])
        splits.append(rng.permutation(n_patterns))
        for w in weights:
            w[k] = rng.normal(0.0, 1.0 / np.sqrt(w.shape[1]), w.shape[1:])
    state = {"epoch": np.array(0), "step": np.array(0), "seconds": np.array(0.0)}
    state.update(split=np.stack(splits), params=params, m=np.zeros_like(params), v=np.zeros_like(params))
    return state


def _evaluate(state, shapes, x, y, config, n_train):
    """The training loss and the training and held-out accuracies (K,) of the current parameters."""
    weights, biases = _unflatten(state["params"], shapes)
    k = len(config.seeds)
    xs = np.broadcast_to(x, (k, *x.shape))
    onehot = np.broadcast_to(np.eye(2)[y], (k, len(y), 2))
    _, _, probabilities = _forward(weights, biases, xs, config.activation)
    correct = probabilities.argmax(-1) == y[None]
    log_p = np.log(np.maximum(probabilities, 1e-300))
    rows = np.arange(k)[:, None]
    train, test = state["split"][:, :n_train], state["split"][:, n_train:]
    loss = -np.mean(np.sum(onehot * log_p, -1)[rows, train], axis=1)
    return loss, correct[rows, train].mean(1), correct[rows, test].mean(1)


def _train_epoch(state, shapes, x_train, y_train, config, epoch):
    """One epoch for all stacked networks; returns the norms (K, layers) of the mean and of the
    standard deviation over the epoch's minibatches of each weight matrix's gradient."""
    k, n_train = x_train.shape[:2]
    batch = min(config.batch_size, n_train)
    order = np.stack([np.random.default_rng([s, 1, epoch]).permutation(n_train) for s in config.seeds])
    rows = np.arange(k)[:, None]
    params, m, v = state["params"], state["m"], state["v"]
    weights, biases = _unflatten(params, shapes)
    sums, squares = np.zeros_like(params), np.zeros_like(params)
    beta1, beta2 = ADAM_BETAS
    batches = 0
    for start in range(0, n_train, batch):
        index = order[:, start : start + batch]
        _, grad_w, grad_b = _loss_and_gradients(
            weights, biases, x_train[rows, index], y_train[rows, index], config.activation
        )
        parts = [g for pair in zip(grad_w, grad_b, strict=True) for g in pair]
        grad = np.concatenate([g.reshape(k, -1) for g in parts], axis=1)
        sums += grad
        squares += grad**2
        state["step"] += 1
        t = int(state["step"])
        m *= beta1
        m += (1 - beta1) * grad
        v *= beta2
        v += (1 - beta2) * grad**2
        params -= config.learning_rate * (m / (1 - beta1**t)) / (np.sqrt(v / (1 - beta2**t)) + ADAM_EPSILON)
        batches += 1
    mean = sums / batches
    variance = np.maximum(squares / batches - mean**2, 0.0)
    mean_w, _ = _unflatten(mean, shapes)
    variance_w, _ = _unflatten(variance, shapes)
    norm_mean = np.stack([np.sqrt(np.sum(a**2, axis=(1, 2))) for a in mean_w], axis=1)
    norm_std = np.stack([np.sqrt(np.sum(a, axis=(1, 2))) for a in variance_w], axis=1)
    return norm_mean, norm_std
