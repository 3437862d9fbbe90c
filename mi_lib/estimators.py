"""``estimate(x, y)``: a neural estimate of I(X; Y) in nats, with held-out evaluation;
``estimate_many``: many independent estimates trained together in one compiled graph.

The recipe (after MINE and the benchmark practice of bmi): standardise both sides with training
statistics, split off held-out samples, train a critic on minibatches with Adam inside one compiled
graph per ``eval_every`` steps, evaluate the bound on the held-out samples after every chunk, stop
when it has not improved for ``patience`` evaluations and report the held-out value of the best
critic. The training bound on the training samples overfits; the held-out value does not.
"""

import time
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from mi_lib import bounds
from mi_lib._checks import as_samples, choice, fraction, positive_int, positive_number
from mi_lib.critics import ArchitectureAwareCritic, StackedConcatCritic, make_critic

BOUNDS = ("dv", "mine", "nwj", "infonce", "smile")
NOISY_CRITICS = {"aa-difference": "difference", "aa": "pair", "concat": None}
HELDOUT_PERMUTATIONS = 32  # shuffles of the held-out y that form the marginal sample of a concat critic
CHUNK = 65_536  # rows per critic call when scoring held-out pairs


@dataclass(frozen=True)
class Estimate:
    """The result of :func:`estimate`. ``value`` is in nats, evaluated on held-out samples."""

    value: float
    bound: str
    history: np.ndarray  # the minibatch bound at every training step
    heldout_history: np.ndarray  # rows (step, held-out bound) after every chunk of training
    steps: int  # training steps taken
    best_step: int  # the step whose critic gave ``value``
    seconds: float
    diverged: bool  # True when training produced NaN or inf; ``value`` then comes from before

    @property
    def bits(self):
        return self.value / np.log(2.0)

    def __repr__(self):
        flag = ", DIVERGED" if self.diverged else ""
        return (
            f"Estimate({self.value:.4f} nats, bound={self.bound}, steps={self.steps}, "
            f"best_step={self.best_step}, {self.seconds:.1f} s{flag})"
        )


def _standardise(train, *others):
    mean, std = train.mean(axis=0), train.std(axis=0)
    std[std == 0] = 1.0
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)]


@dataclass(frozen=True)
class _Task:
    """One estimation problem, split and standardised with its own seed."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    seed: int


def _prepare(x, y, heldout, batch_size, bound, seed, names=("x", "y"), standardise=True):
    x, y = as_samples(names[0], x), as_samples(names[1], y)
    if len(x) != len(y):
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of samples, got {len(x)} and {len(y)}"
        )
    n_test = int(round(heldout * len(x)))
    n_train = len(x) - n_test
    if n_train < batch_size or n_test < 2:
        raise ValueError(
            f"batch_size ({batch_size}) needs at least that many training samples and 2 held-out "
            f"ones; {len(x)} samples split with heldout={heldout} give {n_train} and {n_test}"
        )
    if bound == "infonce" and n_test < batch_size:
        raise ValueError(
            f"infonce evaluates held-out batches of batch_size ({batch_size}): only {n_test} held out"
        )
    if seed is None:
        seed = int(np.random.randint(2**31 - 1))
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[:n_train], order[n_train:]
    if not standardise:  # a critic that reads raw inputs (AA-MINE's frozen layer copy)
        x, y = x.astype(np.float32), y.astype(np.float32)
        return _Task(x[train], y[train], x[test], y[test], int(seed))
    x_train, x_test = _standardise(x[train], x[test])
    y_train, y_test = _standardise(y[train], y[test])
    return _Task(x_train, y_train, x_test, y_test, int(seed))


def _value(bound, clip, matrix, joint, marginal):
    if bound == "infonce":
        return bounds.infonce(matrix)
    if bound == "nwj":
        return bounds.nwj(joint, marginal)
    if bound == "smile":
        return bounds.smile(joint, marginal, clip)
    return bounds.dv(joint, marginal)


def _objective(bound, clip, ema_rate, matrix, joint, marginal, log_average):
    """The quantity gradient ascent maximises, and the updated MINE moving average."""
    if bound == "mine":
        return bounds.mine_surrogate(joint, marginal, log_average, ema_rate)
    if bound == "smile":
        return bounds.smile_objective(joint, marginal, clip), log_average
    return _value(bound, clip, matrix, joint, marginal), log_average


def _heldout_value(critic, bound, clip, batch_size, task):
    """The bound on a task's held-out samples, using as many marginal pairs as is cheap."""
    x, y = task.x_test, task.y_test
    if bound == "infonce":
        b = batch_size
        chunks = [critic.matrix(x[i : i + b], y[i : i + b]) for i in range(0, len(x) - b + 1, b)]
        return float(np.mean([bounds.infonce(m) for m in chunks]))
    if getattr(critic, "cheap_matrix", False):  # all n(n-1) off-diagonal pairs from one product
        return float(_value(bound, clip, None, *bounds.split_scores(critic.matrix(x, y))))
    rng = np.random.default_rng(task.seed)
    shuffled = np.concatenate([rng.permutation(len(y)) for _ in range(HELDOUT_PERMUTATIONS)])
    xs, ys = np.concatenate([x] * (HELDOUT_PERMUTATIONS + 1)), np.concatenate([y, y[shuffled]])
    # the joint pairs, then all marginal pairs, in a few large calls (each call has a fixed overhead)
    scores = tf.concat(
        [critic.pairs(xs[i : i + CHUNK], ys[i : i + CHUNK]) for i in range(0, len(xs), CHUNK)], 0
    )
    return float(_value(bound, clip, None, scores[: len(x)], scores[len(x) :]))


def _adam(learning_rate, steps):
    # Cosine decay: large early steps find the critic, small late steps let it settle instead of
    # jittering around the optimum, which the DV bound's log term punishes.
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.05)
    return keras.optimizers.Adam(schedule)


def _minibatch_indices(seed, step, batch_size, n):
    """Rows of the joint minibatch and, independently drawn, of the marginal y: stateless, so a
    task's minibatches depend only on its seed and the step, alone or trained with others."""
    return tf.random.stateless_uniform([2, batch_size], tf.stack([seed, step]), 0, n, dtype=tf.int32)


class _Trainer:
    """One critic, its optimiser and the compiled training loop (``tasks`` = 1)."""

    tasks = 1

    def __init__(self, critic, bound, task, batch_size, learning_rate, steps, ema_rate, clip):
        self.critic, self.bound, self.clip, self.ema_rate = critic, bound, clip, ema_rate
        self.task, self.batch_size = task, batch_size
        self.x, self.y = tf.constant(task.x_train), tf.constant(task.y_train)
        self.use_matrix = bound == "infonce" or getattr(critic, "cheap_matrix", False)
        self.log_average = tf.Variable(float("nan"), trainable=False)
        self.optimizer = _adam(learning_rate, steps)
        self.optimizer.build(critic.trainable_variables)
        self.train_chunk = tf.function(self._train_chunk, jit_compile=True)

    def _scores(self, x, y, y_marginal):
        if self.use_matrix:
            matrix = self.critic.matrix(x, y)
            return (matrix, *bounds.split_scores(matrix))
        return None, self.critic.pairs(x, y), self.critic.pairs(x, y_marginal)

    def _train_chunk(self, first_step, n_steps):
        """``n_steps`` training steps in one graph; returns the minibatch bound, shape (1, n_steps)."""
        n = tf.shape(self.x)[0]
        values = tf.TensorArray(tf.float32, size=n_steps)
        for i in tf.range(n_steps):
            idx = _minibatch_indices(self.task.seed, first_step + i, self.batch_size, n)
            x, y, y_marginal = tf.gather(self.x, idx[0]), tf.gather(self.y, idx[0]), tf.gather(self.y, idx[1])
            with tf.GradientTape() as tape:
                scores = self._scores(x, y, y_marginal)
                objective, log_average = _objective(
                    self.bound, self.clip, self.ema_rate, *scores, self.log_average
                )
                loss = -objective
            self.log_average.assign(log_average)
            variables = self.critic.trainable_variables
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            values = values.write(i, _value(self.bound, self.clip, *scores))
        return values.stack()[None, :]

    def evaluate(self, k):
        return _heldout_value(self.critic, self.bound, self.clip, self.batch_size, self.task)

    def weights(self, k):
        return self.critic.get_weights()

    def restore(self, k, weights):
        self.critic.set_weights(weights)


class _StackedTrainer(_Trainer):
    """K concatenated critics trained together: one batched forward and backward pass per step,
    each task with its own minibatches, moving average and held-out evaluation."""

    def __init__(self, critics, bound, tasks, batch_size, learning_rate, steps, ema_rate, clip):
        self.critics, self.task_list = critics, tasks
        self.tasks = len(tasks)
        self.critic = StackedConcatCritic(critics)
        self.bound, self.clip, self.ema_rate, self.batch_size = bound, clip, ema_rate, batch_size
        self.x = tf.constant(np.stack([t.x_train for t in tasks]))
        self.y = tf.constant(np.stack([t.y_train for t in tasks]))
        self.log_average = tf.Variable(tf.fill([self.tasks], float("nan")), trainable=False)
        self.optimizer = _adam(learning_rate, steps)
        self.optimizer.build(self.critic.trainable_variables)
        # Not XLA: its CPU batched matmul is slower than TensorFlow's oneDNN kernel (measured: the
        # 13-task sweep of benchmarks/batched_sweep.py trains 1.7x faster without it).
        self.train_chunk = tf.function(self._train_chunk)

    def _train_chunk(self, first_step, n_steps):
        n = tf.shape(self.x)[1]
        values = tf.TensorArray(tf.float32, size=n_steps)
        for i in tf.range(n_steps):
            rows = [_minibatch_indices(t.seed, first_step + i, self.batch_size, n) for t in self.task_list]
            x = tf.stack([tf.gather(self.x[k], r[0]) for k, r in enumerate(rows)])
            y = tf.stack([tf.gather(self.y[k], r[0]) for k, r in enumerate(rows)])
            y_marginal = tf.stack([tf.gather(self.y[k], r[1]) for k, r in enumerate(rows)])
            with tf.GradientTape() as tape:
                joint, marginal = self.critic.pairs(x, y), self.critic.pairs(x, y_marginal)
                per_task = [
                    _objective(
                        self.bound, self.clip, self.ema_rate, None, joint[k], marginal[k], self.log_average[k]
                    )
                    for k in range(self.tasks)
                ]
                loss = -tf.add_n([o for o, _ in per_task])  # the critics share no weight
            self.log_average.assign(tf.stack([a for _, a in per_task]))
            variables = self.critic.trainable_variables
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            step_values = [
                _value(self.bound, self.clip, None, joint[k], marginal[k]) for k in range(self.tasks)
            ]
            values = values.write(i, tf.stack(step_values))
        return tf.transpose(values.stack())

    def evaluate(self, k):
        self.critics[k].set_weights(self.critic.weights_of(k))
        return _heldout_value(self.critics[k], self.bound, self.clip, self.batch_size, self.task_list[k])

    def weights(self, k):
        return self.critic.weights_of(k)

    def restore(self, k, weights):
        self.critics[k].set_weights(weights)


def _fit(trainer, bound, steps, eval_every, patience, progress, started):
    """Train in chunks of ``eval_every`` steps; after each, evaluate every task still running on its
    held-out samples and stop it when it has not improved for ``patience`` evaluations."""
    k_tasks = trainer.tasks
    history = [[] for _ in range(k_tasks)]
    heldout = [[] for _ in range(k_tasks)]
    best = [(-np.inf, 0, trainer.weights(k)) for k in range(k_tasks)]
    since_best, diverged, stopped_at = [0] * k_tasks, [False] * k_tasks, [None] * k_tasks
    bar = None
    if progress:
        from tqdm.auto import tqdm

        label = f"{bound} critic" + ("s" if k_tasks > 1 else "")
        bar = tqdm(total=steps, desc=label, unit="step", leave=False)
    done = 0
    while done < steps and None in stopped_at:
        chunk = min(eval_every, steps - done)
        values = trainer.train_chunk(tf.constant(done, tf.int32), tf.constant(chunk, tf.int32)).numpy()
        done += chunk
        for k in range(k_tasks):
            if stopped_at[k] is not None:
                continue  # this task has finished; its critic trains on but is no longer read
            history[k].append(values[k])
            value = trainer.evaluate(k)
            heldout[k].append((done, value))
            if not (np.all(np.isfinite(values[k])) and np.isfinite(value)):
                diverged[k], stopped_at[k] = True, done
            elif value > best[k][0]:
                best[k], since_best[k] = (value, done, trainer.weights(k)), 0
            else:
                since_best[k] += 1
                if since_best[k] >= patience:
                    stopped_at[k] = done
        if bar is not None:
            bar.update(chunk)
            if k_tasks == 1:
                bar.set_postfix(heldout=f"{heldout[0][-1][1]:.3f}")
    if bar is not None:
        bar.close()
    seconds = time.perf_counter() - started
    results = []
    for k in range(k_tasks):
        value, best_step, weights = best[k]
        trainer.restore(k, weights)
        results.append(
            Estimate(
                value=float(value) if best_step else float("nan"),
                bound=bound,
                history=np.concatenate(history[k]),
                heldout_history=np.asarray(heldout[k]),
                steps=stopped_at[k] or done,
                best_step=best_step,
                seconds=seconds,
                diverged=diverged[k],
            )
        )
    return results


def _check_options(bound, steps, batch_size, eval_every, patience, heldout, ema_rate, learning_rate):
    choice("bound", bound, BOUNDS)
    for name, value in (("steps", steps), ("batch_size", batch_size), ("eval_every", eval_every)):
        positive_int(name, value)
    positive_int("patience", patience)
    fraction("heldout", heldout)
    fraction("ema_rate", ema_rate)
    if not (isinstance(learning_rate, (int, float)) and learning_rate > 0):
        raise ValueError(f"learning_rate must be a positive number, got {learning_rate!r}")


def estimate(
    x,
    y,
    *,
    bound="mine",
    critic="concat",
    hidden=(256, 256),
    activation="relu",
    steps=4000,
    batch_size=512,
    learning_rate=5e-4,
    heldout=0.3,
    eval_every=100,
    patience=10,
    ema_rate=0.01,
    clip=5.0,
    seed=None,
    progress=False,
):
    """Estimate I(X; Y) in nats from paired samples ``x`` (n, dx) and ``y`` (n, dy).

    bound: ``mine`` (DV trained with MINE's moving-average gradient correction), ``dv``, ``nwj``,
        ``infonce`` (never above log batch_size) or ``smile`` (clipped DV trained with JS).
    critic: ``concat`` (MINE's statistics network on [x, y]), ``separable`` (g(x)^T h(y)) or a model
        with ``pairs`` and ``matrix`` methods. hidden, activation: the hidden layers of a named critic.
    steps: the most training steps; training stops earlier when the held-out bound has not improved
        for ``patience`` evaluations, one every ``eval_every`` steps.
    heldout: the fraction of samples kept out of training; ``Estimate.value`` is evaluated on them.
    seed: fixes the split, the critic's initial weights and the minibatches (None: drawn from numpy's
        global generator, which ``mi_lib.setup`` seeds).
    """
    started = time.perf_counter()
    _check_options(bound, steps, batch_size, eval_every, patience, heldout, ema_rate, learning_rate)
    task = _prepare(x, y, heldout, batch_size, bound, seed)
    keras.utils.set_random_seed(task.seed)
    net = make_critic(critic, task.x_train.shape[1], task.y_train.shape[1], hidden, activation, task.seed)
    trainer = _Trainer(net, bound, task, batch_size, learning_rate, steps, ema_rate, clip)
    return _fit(trainer, bound, steps, eval_every, patience, progress, started)[0]


def estimate_many(
    xs,
    ys,
    *,
    seeds,
    bound="mine",
    hidden=(256, 256),
    activation="relu",
    steps=4000,
    batch_size=512,
    learning_rate=5e-4,
    heldout=0.3,
    eval_every=100,
    patience=10,
    ema_rate=0.01,
    clip=5.0,
    progress=False,
):
    """Many independent estimates, one per task ``(xs[k], ys[k])`` with seed ``seeds[k]``, trained
    together: their concatenated critics are stacked into one network and each training step is one
    batched pass for all of them. Each task gets what ``estimate(xs[k], ys[k], seed=seeds[k])`` gives
    (up to float rounding): the same split, initial weights, minibatches and early stopping.

    All tasks must have the same number of samples and dimensions. Only the concatenated critic and
    the pair-based bounds (``mine``, ``dv``, ``nwj``, ``smile``) are stacked. Returns a list of
    :class:`Estimate`; their ``seconds`` is the time of the whole batch.
    """
    started = time.perf_counter()
    _check_options(bound, steps, batch_size, eval_every, patience, heldout, ema_rate, learning_rate)
    if bound == "infonce":
        raise ValueError("bound 'infonce' needs score matrices; estimate_many stacks pair-based bounds only")
    xs, ys, seeds = list(xs), list(ys), list(seeds)
    if not (len(xs) == len(ys) == len(seeds)) or not xs:
        raise ValueError(
            f"xs, ys and seeds must be non-empty and of equal length, got {len(xs)}, {len(ys)}, {len(seeds)}"
        )
    tasks = [
        _prepare(x, y, heldout, batch_size, bound, s, (f"xs[{k}]", f"ys[{k}]"))
        for k, (x, y, s) in enumerate(zip(xs, ys, seeds, strict=True))
    ]
    shape = (tasks[0].x_train.shape, tasks[0].y_train.shape, tasks[0].x_test.shape)
    for k, t in enumerate(tasks):
        if (t.x_train.shape, t.y_train.shape, t.x_test.shape) != shape:
            raise ValueError(
                f"xs[{k}], ys[{k}] differ in shape from xs[0], ys[0]: stacked tasks must have the "
                "same numbers of samples and dimensions"
            )
    critics = []
    for t in tasks:
        keras.utils.set_random_seed(t.seed)
        critics.append(make_critic("concat", shape[0][1], shape[1][1], hidden, activation, t.seed))
    trainer = _StackedTrainer(critics, bound, tasks, batch_size, learning_rate, steps, ema_rate, clip)
    return _fit(trainer, bound, steps, eval_every, patience, progress, started)


def _layer_outputs(layer, x, chunk=4096):
    """T = layer(x) as a float32 array (n, dim_t), computed in chunks."""
    try:
        chunks = [x[i : i + chunk] for i in range(0, len(x), chunk)]
        parts = [np.asarray(layer(tf.constant(c)), np.float32) for c in chunks]
    except Exception as error:  # any failure of the user's callable is reported the same way
        raise ValueError(f"layer could not be applied to x of shape {x.shape}: {error}") from error
    t = np.concatenate(parts)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or len(t) != len(x):
        raise ValueError(f"layer must map x (n, dim_x) to (n, dim_t), got output shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ValueError("layer produced NaN or inf on x")
    return t


def estimate_noisy_layer(
    x,
    layer,
    sigma,
    *,
    critic="aa-difference",
    bound="mine",
    hidden=(256, 256),
    activation="relu",
    steps=4000,
    batch_size=512,
    learning_rate=5e-4,
    heldout=0.3,
    eval_every=100,
    patience=10,
    ema_rate=0.01,
    clip=5.0,
    seed=None,
    progress=False,
):
    """Estimate I(X; T + eps) in nats, where T = layer(X) and eps ~ N(0, sigma^2 I) is drawn once
    per sample. For continuous X and a deterministic layer I(X; T) is infinite; the noise makes it
    finite, and I(X; T + eps) = h(T + eps) - h(eps) measures how spread out (how little compressed)
    the representation is at the scale sigma.

    layer: a Keras model or callable mapping float32 x (n, dim_x) to T (n, dim_t); never trained.
    critic: ``aa-difference`` (AA-MINE fed T(X) and T' + eps - T(X)), ``aa`` (AA-MINE fed T(X) and
        T' + eps) or ``concat`` (plain MINE on (X, T' + eps), inputs standardised).
    The other options are those of :func:`estimate`.
    """
    started = time.perf_counter()
    _check_options(bound, steps, batch_size, eval_every, patience, heldout, ema_rate, learning_rate)
    choice("critic", critic, NOISY_CRITICS)
    positive_number("sigma", sigma)
    x = as_samples("x", x).astype(np.float32)
    if seed is None:
        seed = int(np.random.randint(2**31 - 1))
    t = _layer_outputs(layer, x)
    noise = np.random.default_rng([seed, 1]).standard_normal(t.shape).astype(np.float32)
    y = t + np.float32(sigma) * noise
    options = dict(bound=bound, steps=steps, batch_size=batch_size, learning_rate=learning_rate)
    options.update(heldout=heldout, eval_every=eval_every, patience=patience, ema_rate=ema_rate, clip=clip)
    if critic == "concat":
        return estimate(x, y, critic="concat", hidden=hidden, activation=activation, seed=seed, **options)
    task = _prepare(x, y, heldout, batch_size, bound, seed, standardise=False)
    keras.utils.set_random_seed(task.seed)
    scale = task.y_train.std(axis=0)
    scale[scale == 0] = 1.0
    # The critic freezes the layer while it trains; the caller's model gets its flag back afterwards.
    was_trainable = getattr(layer, "trainable", None)
    try:
        mode, mean = NOISY_CRITICS[critic], task.y_train.mean(axis=0)
        net = ArchitectureAwareCritic(layer, sigma, mean, scale, mode, hidden, activation, task.seed)
        net = make_critic(net, x.shape[1], t.shape[1])
        trainer = _Trainer(net, bound, task, batch_size, learning_rate, steps, ema_rate, clip)
        return _fit(trainer, bound, steps, eval_every, patience, progress, started)[0]
    finally:
        if was_trainable is not None:
            layer.trainable = was_trainable
