"""The Tishby network and its training record, for the information plane.

``record_training(config, x, y)`` trains the fully connected network of Shwartz-Ziv & Tishby
(2017), 12-10-7-5-4-3-2 by default, with Adam on minibatches of an 80/20 split, and records at
log-spaced epochs everything the information plane needs, for every seed of the configuration.
A ``batch_size`` of at least the number of training patterns trains by full-batch steps: each step
follows the exact gradient of the training loss, with no minibatch noise (Saxe et al.'s test of
whether that noise causes compression). The record holds:

- the weights and biases of every layer, from which ``Recording.activations`` recomputes the
  activations of every layer on any inputs (exactly: the same float64 arithmetic as training). A
  record of the weights is a thousand times smaller than one of the activations on all 4,096
  patterns and loses nothing;
- the loss and the accuracy on the training and the held-out patterns;
- at every epoch, for every weight matrix, the norm of the mean and of the standard deviation of
  its minibatch gradients over the epoch: the gradient signal-to-noise ratio of their figure 4.

Why numpy and not Keras: the network has 254 parameters, so a training step costs nothing but
framework overhead. Written out in numpy with batched matrix products, all the seeds of one
configuration train together, one step for all of them, at a few milliseconds per epoch; the
gradient is checked against TensorFlow's automatic differentiation in the tests.
``Recording.layer_model`` gives any recorded layer as a frozen Keras model, which is what AA-MINE
embeds in its critic.

Runs are cached on disk, keyed by the configuration and a fingerprint of the data: a checkpoint is
written atomically at every recorded epoch, so an interrupted (even killed) run resumes where it
stopped, and the finished record replaces the checkpoint atomically. A cache file that cannot be read
is reported and recomputed; two processes asking for the same record train it once (the second waits
for the first). ``$MI_CACHE_DIR`` moves the cache; by default it is ``.mi_cache/`` at the root of the
project (see :mod:`mi_lib._files`).
"""

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from mi_lib._checks import as_samples, choice, fraction, positive_int, positive_number
from mi_lib._files import cache_dir, discard_unreadable, exclusive_lock, load_arrays, save_arrays

ACTIVATIONS = ("tanh", "relu")
FORMAT = 1  # bump when the layout of the cached record changes
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


def _fingerprint(config, x, y):
    digest = hashlib.sha256()
    digest.update(json.dumps({"format": FORMAT, **asdict(config)}, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(x, np.float64).tobytes())
    digest.update(np.ascontiguousarray(y, np.int64).tobytes())
    return digest.hexdigest()[:20]


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


def _initial_state(config, n_inputs, n_patterns):
    """Weights N(0, 1/fan_in), zero biases, zero Adam moments; each seed's split of the patterns.
    All parameters of a network live in one flat array (K, P), so that Adam is a few array
    operations per step rather than a few per layer."""
    shapes = _shapes(config, n_inputs)
    n_train = int(round(config.train_fraction * n_patterns))
    if not 2 <= n_train < n_patterns:
        raise ValueError(
            f"train_fraction {config.train_fraction} of {n_patterns} patterns leaves {n_train} for "
            "training: need at least 2 and at least one held out"
        )
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
    return state, n_train, shapes


def _evaluate(state, shapes, x, y, config, n_train):
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


def _check_data(x, y):
    x = as_samples("x", x)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must be a 1-D array of {len(x)} labels (one per row of x), got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool) or not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold binary labels 0 and 1")
    return x, y.astype(np.int64)


def _check_options(cache, directory, progress, checkpoint_seconds, on_checkpoint):
    for name, value in (("cache", cache), ("progress", progress)):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {value!r}")
    if directory is not None and not isinstance(directory, (str, os.PathLike)):
        raise ValueError(f"directory must be a path (str or os.PathLike) or None, got {directory!r}")
    number = isinstance(checkpoint_seconds, (int, float, np.integer, np.floating))
    if isinstance(checkpoint_seconds, bool) or not (number and checkpoint_seconds >= 0):
        raise ValueError(f"checkpoint_seconds must be a number >= 0, got {checkpoint_seconds!r}")
    if on_checkpoint is not None and not callable(on_checkpoint):
        raise ValueError(f"on_checkpoint must be callable or None, got {on_checkpoint!r}")


def record_training(
    config, x, y, *, cache=True, directory=None, progress=False, checkpoint_seconds=10.0, on_checkpoint=None
):
    """Train the networks of ``config`` on patterns ``x`` (n, d) with labels ``y`` (n,) in {0, 1}
    and return their :class:`Recording`, from the cache when it is there.

    cache: read and write the on-disk cache (in ``directory``, default :func:`mi_lib._files.cache_dir`).
        A run that was interrupted, even killed, resumes from its last checkpoint, with the same
        result as an uninterrupted one. A cache file that cannot be read is reported (a
        ``CacheWarning`` naming it) and recomputed. Two processes recording the same configuration
        do not both train: the second waits for the first and reads its record.
    checkpoint_seconds: a checkpoint is written at the first recorded epoch after this many seconds
        since the last one (0: at every recorded epoch).
    on_checkpoint: called with the epoch after every checkpoint is written (the tests interrupt a
        run from it).
    """
    if not isinstance(config, TrainingConfig):
        raise ValueError(f"config must be a TrainingConfig, got {type(config).__name__}")
    x, y = _check_data(x, y)
    _check_options(cache, directory, progress, checkpoint_seconds, on_checkpoint)
    if not cache:
        return _train(config, x, y, None, None, progress, checkpoint_seconds, on_checkpoint)
    key = _fingerprint(config, x, y)
    folder = (Path(directory) if directory is not None else cache_dir()) / "infoplane"
    final_path = folder / f"{key}.npz"
    recording = _load(config, final_path, len(x), x.shape[1])
    if recording is None:
        with exclusive_lock(folder / f"{key}.lock"):
            # another process may have stored the record while this one waited for the lock
            recording = _load(config, final_path, len(x), x.shape[1])
            if recording is None:
                checkpoint_path = folder / f"{key}.checkpoint.npz"
                recording = _train(
                    config, x, y, checkpoint_path, final_path, progress, checkpoint_seconds, on_checkpoint
                )
    return recording


def _train(config, x, y, checkpoint_path, final_path, progress, checkpoint_seconds, on_checkpoint):
    """Train (or resume from ``checkpoint_path``), checkpointing and storing the record at
    ``final_path``; without paths, in memory only."""
    cache = final_path is not None
    layers = len(config.widths)
    recorded = config.recorded_epochs()
    state, n_train, shapes = _initial_state(config, x.shape[1], len(x))
    k = len(config.seeds)
    history = {
        "gradient_mean": np.zeros((k, config.epochs, layers)),
        "gradient_std": np.zeros((k, config.epochs, layers)),
        "loss": np.zeros((k, len(recorded))),
        "train_accuracy": np.zeros((k, len(recorded))),
        "test_accuracy": np.zeros((k, len(recorded))),
        "records": np.zeros((k, len(recorded), state["params"].shape[1])),
    }
    if cache:
        _restore(checkpoint_path, state, history)

    rows = np.arange(k)[:, None]
    train_index = state["split"][:, :n_train]
    x_train = np.broadcast_to(x, (k, *x.shape))[rows, train_index]
    y_train = np.eye(2)[y][train_index]

    def record(position):
        history["records"][:, position] = state["params"]
        metrics = _evaluate(state, shapes, x, y, config, n_train)
        for name, value in zip(("loss", "train_accuracy", "test_accuracy"), metrics, strict=True):
            history[name][:, position] = value

    epoch = int(state["epoch"])
    if epoch == 0:
        record(0)
    started = time.perf_counter() - float(state["seconds"])
    last_checkpoint = time.perf_counter()
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=config.epochs, initial=epoch, desc=_describe(config, x.shape[1]), unit="epoch")
    while epoch < config.epochs:
        norms = _train_epoch(state, shapes, x_train, y_train, config, epoch)
        history["gradient_mean"][:, epoch], history["gradient_std"][:, epoch] = norms
        epoch += 1
        if bar is not None and (epoch % 50 == 0 or epoch == config.epochs):
            bar.update(epoch - bar.n)
        if epoch in recorded:
            record(int(np.searchsorted(recorded, epoch)))
            state["epoch"] = np.array(epoch)
            state["seconds"] = np.array(time.perf_counter() - started)
            due = time.perf_counter() - last_checkpoint >= checkpoint_seconds
            if cache and due and epoch < config.epochs:
                save_arrays(checkpoint_path, {**state, **history})
                last_checkpoint = time.perf_counter()
                if on_checkpoint is not None:
                    on_checkpoint(epoch)
    if bar is not None:
        bar.close()
    arrays = {**history, "split": state["split"], "epochs": recorded}
    arrays["seconds"] = np.array(time.perf_counter() - started)
    if cache:
        save_arrays(final_path, arrays)
        checkpoint_path.unlink(missing_ok=True)
    return _from_arrays(config, arrays, x.shape[1])


def _layout_problem(arrays, expected):
    """Why ``arrays`` (name -> array) do not match ``expected`` (name -> (shape, dtype kind)); None
    when they do."""
    if set(arrays) != set(expected):
        return f"holds arrays {sorted(arrays)}, expected {sorted(expected)}"
    for name, (shape, kind) in expected.items():
        found = arrays[name]
        if found.shape != tuple(shape) or found.dtype.kind != kind:
            return f"{name} is {found.dtype} {found.shape}, expected kind {kind!r} {tuple(shape)}"
    return None


def _restore(path, state, history):
    """Fill ``state`` and ``history`` from the checkpoint at ``path`` if there is a usable one."""
    saved = load_arrays(path)
    if saved is None:
        return
    problem = _layout_problem(
        saved, {name: (a.shape, a.dtype.kind) for name, a in {**state, **history}.items()}
    )
    if problem is not None:
        discard_unreadable(path, problem)
        return
    for name, value in saved.items():
        (history if name in history else state)[name] = np.array(value)


def _describe(config, n_inputs):
    sizes = "-".join(str(w) for w in (n_inputs, *config.widths))
    return f"{sizes} {config.activation}, {config.train_fraction:.0%} train, {len(config.seeds)} seeds"


def _from_arrays(config, arrays, n_inputs):
    n_train = int(round(config.train_fraction * arrays["split"].shape[1]))
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


def _load(config, path, n_patterns, n_inputs):
    """The finished record at ``path``, or None when there is none or it cannot be used (reported)."""
    arrays = load_arrays(path)
    if arrays is None:
        return None
    k, epochs, recorded = len(config.seeds), config.epochs, config.recorded_epochs()
    size = sum(int(np.prod(shape)) for shape in _shapes(config, n_inputs))
    r = len(recorded)
    expected = {
        "gradient_mean": ((k, epochs, len(config.widths)), "f"),
        "gradient_std": ((k, epochs, len(config.widths)), "f"),
        **{name: ((k, r), "f") for name in ("loss", "train_accuracy", "test_accuracy")},
        "records": ((k, r, size), "f"),
        "split": ((k, n_patterns), "i"),
        "epochs": ((r,), "i"),
        "seconds": ((), "f"),
    }
    problem = _layout_problem(arrays, expected)
    if problem is None and not np.array_equal(arrays["epochs"], recorded):
        problem = "its recorded epochs are not those of the configuration"
    if problem is not None:
        discard_unreadable(path, problem)
        return None
    return _from_arrays(config, arrays, n_inputs)
