"""Recording a training run: ``record_training(config, x, y)``.

It trains the networks of a :class:`~mi_lib.infoplane.network.TrainingConfig`, one per seed, all
together, and records at log-spaced epochs everything the information plane needs (a
:class:`~mi_lib.infoplane.recording.Recording`). Its steps are separate functions: the input checks
(:func:`_checked_inputs`), the cache lookup under a lock (:mod:`mi_lib.infoplane.storage`), the
restore of a checkpoint (:func:`_resume`), the training loop (:func:`_train`, which knows no file,
only a checkpoint callback) and the writing of the record (storage again).
"""

import time

import numpy as np

from mi_lib._checks import as_samples, flag, optional_path
from mi_lib.infoplane.network import (
    TrainingConfig,
    _evaluate,
    _initial_state,
    _n_train,
    _shapes,
    _train_epoch,
)
from mi_lib.infoplane.recording import _from_arrays, _layout
from mi_lib.infoplane.storage import _Entry, _key, _layout_problem


def record_training(
    config, x, y, *, cache=True, directory=None, progress=False, checkpoint_seconds=10.0, on_checkpoint=None
):
    """Train the networks of ``config`` on patterns ``x`` (n, d) with labels ``y`` (n,) in {0, 1}
    and return their :class:`~mi_lib.infoplane.recording.Recording`, from the cache when it is there.

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
    x, y = _checked_inputs(config, x, y, cache, directory, progress, checkpoint_seconds, on_checkpoint)
    if cache:
        arrays = _cached_training(config, x, y, directory, progress, checkpoint_seconds, on_checkpoint)
    else:
        arrays = _train(config, x, y, *_start(config, x), progress=progress)
    return _from_arrays(config, arrays, x.shape[1])


def _checked_inputs(config, x, y, cache, directory, progress, checkpoint_seconds, on_checkpoint):
    """``x`` as float64 samples and ``y`` as int64 labels, after every argument is checked."""
    if not isinstance(config, TrainingConfig):
        raise ValueError(f"config must be a TrainingConfig, got {type(config).__name__}")
    x, y = _check_data(x, y)
    _check_options(cache, directory, progress, checkpoint_seconds, on_checkpoint)
    _n_train(config, len(x))  # the split leaves patterns to train on and to hold out
    return x, y


def _check_data(x, y):
    x = as_samples("x", x)
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"y must be a 1-D array of {len(x)} labels (one per row of x), got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.number) or y.dtype == bool) or not np.isin(y, (0, 1)).all():
        raise ValueError("y must hold binary labels 0 and 1")
    return x, y.astype(np.int64)


def _check_options(cache, directory, progress, checkpoint_seconds, on_checkpoint):
    flag("cache", cache), flag("progress", progress), optional_path("directory", directory)
    number = isinstance(checkpoint_seconds, (int, float, np.integer, np.floating))
    if isinstance(checkpoint_seconds, bool) or not (number and checkpoint_seconds >= 0):
        raise ValueError(f"checkpoint_seconds must be a number >= 0, got {checkpoint_seconds!r}")
    if on_checkpoint is not None and not callable(on_checkpoint):
        raise ValueError(f"on_checkpoint must be callable or None, got {on_checkpoint!r}")


def _cached_training(config, x, y, directory, progress, checkpoint_seconds, on_checkpoint):
    """The record's arrays from the cache; else trained, resumed from a checkpoint if there is one,
    checkpointed on the way and stored."""
    entry = _Entry(directory, _key(config, x, y))

    def train():
        state, history = _start(config, x)
        _resume(entry.restore({**state, **history}), state, history)
        checkpoint = entry.checkpoints(checkpoint_seconds, on_checkpoint)
        arrays = _train(config, x, y, state, history, checkpoint, progress)
        entry.store(arrays)
        return arrays

    return entry.load_or_compute(lambda arrays: _record_problem(config, arrays, *x.shape), train)


def _record_problem(config, arrays, n_patterns, n_inputs):
    """Why stored ``arrays`` are not a record of ``config`` on such data; None when they are."""
    problem = _layout_problem(arrays, _layout(config, n_patterns, n_inputs))
    if problem is None and not np.array_equal(arrays["epochs"], config.recorded_epochs()):
        problem = "its recorded epochs are not those of the configuration"
    return problem


def _start(config, x):
    """The training state at epoch 0 (parameters, Adam moments, splits) and an empty history."""
    state = _initial_state(config, x.shape[1], len(x))
    k, recorded = len(config.seeds), len(config.recorded_epochs())
    per_epoch = (k, config.epochs, len(config.widths))
    history = {
        "gradient_mean": np.zeros(per_epoch),
        "gradient_std": np.zeros(per_epoch),
        "loss": np.zeros((k, recorded)),
        "train_accuracy": np.zeros((k, recorded)),
        "test_accuracy": np.zeros((k, recorded)),
        "records": np.zeros((k, recorded, state["params"].shape[1])),
    }
    return state, history


def _resume(saved, state, history):
    """Put a checkpoint's arrays (None: there is none) in place of the fresh ``state`` and ``history``."""
    for name, value in (saved or {}).items():
        (history if name in history else state)[name] = np.array(value)


def _train(config, x, y, state, history, checkpoint=None, progress=False):
    """Train from ``state`` (epoch 0, or where a checkpoint stopped) to ``config.epochs``, recording
    into ``history``; return the record's arrays (see :func:`~mi_lib.infoplane.recording._layout`).
    ``checkpoint(epoch, arrays)`` is called at every recorded epoch before the last with all it
    takes to resume."""
    shapes, n_train = _shapes(config, x.shape[1]), _n_train(config, len(x))
    recorded = config.recorded_epochs()
    k = len(config.seeds)
    train_index = state["split"][:, :n_train]
    x_train = np.broadcast_to(x, (k, *x.shape))[np.arange(k)[:, None], train_index]
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
    bar = _progress_bar(config, x.shape[1], epoch) if progress else None
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
            if checkpoint is not None and epoch < config.epochs:
                checkpoint(epoch, {**state, **history})
    if bar is not None:
        bar.close()
    arrays = {**history, "split": state["split"], "epochs": recorded}
    arrays["seconds"] = np.array(time.perf_counter() - started)
    return arrays


def _progress_bar(config, n_inputs, epoch):
    from tqdm.auto import tqdm

    sizes = "-".join(str(w) for w in (n_inputs, *config.widths))
    description = f"{sizes} {config.activation}, {config.train_fraction:.0%} train, {len(config.seeds)} seeds"
    return tqdm(total=config.epochs, initial=epoch, desc=description, unit="epoch")
