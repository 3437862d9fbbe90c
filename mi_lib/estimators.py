"""``estimate(x, y)``: a neural estimate of I(X; Y) in nats, with held-out evaluation.

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
from mi_lib._checks import as_samples, choice, fraction, positive_int
from mi_lib.critics import make_critic

BOUNDS = ("dv", "mine", "nwj", "infonce", "smile")
HELDOUT_PERMUTATIONS = 32  # shuffles of the held-out y that form the marginal sample of a concat critic


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


class _Trainer:
    """Holds the critic, the optimiser and the compiled training and evaluation graphs."""

    def __init__(self, critic, bound, x, y, batch_size, learning_rate, steps, ema_rate, clip, seed):
        self.critic, self.bound, self.clip, self.ema_rate = critic, bound, clip, ema_rate
        self.x, self.y = tf.constant(x), tf.constant(y)
        self.batch_size, self.seed = batch_size, seed
        self.use_matrix = bound == "infonce" or getattr(critic, "cheap_matrix", False)
        self.log_average = tf.Variable(float("nan"), trainable=False)
        # Cosine decay: large early steps find the critic, small late steps let it settle instead of
        # jittering around the optimum, which the DV bound's log term punishes.
        schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps, alpha=0.05)
        self.optimizer = keras.optimizers.Adam(schedule)
        self.optimizer.build(critic.trainable_variables)
        self.train_chunk = tf.function(self._train_chunk, jit_compile=True)

    def scores(self, x, y, y_marginal):
        if self.use_matrix:
            matrix = self.critic.matrix(x, y)
            return (matrix, *bounds.split_scores(matrix))
        return None, self.critic.pairs(x, y), self.critic.pairs(x, y_marginal)

    def value(self, matrix, joint, marginal):
        if self.bound == "infonce":
            return bounds.infonce(matrix)
        if self.bound == "nwj":
            return bounds.nwj(joint, marginal)
        if self.bound == "smile":
            return bounds.smile(joint, marginal, self.clip)
        return bounds.dv(joint, marginal)

    def objective(self, matrix, joint, marginal):
        if self.bound == "mine":
            surrogate, updated = bounds.mine_surrogate(joint, marginal, self.log_average, self.ema_rate)
            self.log_average.assign(updated)
            return surrogate
        if self.bound == "smile":
            return bounds.smile_objective(joint, marginal, self.clip)
        return self.value(matrix, joint, marginal)

    def _train_chunk(self, first_step, n_steps):
        n = tf.shape(self.x)[0]
        values = tf.TensorArray(tf.float32, size=n_steps)
        for i in tf.range(n_steps):
            seed = tf.stack([tf.cast(self.seed, tf.int32), first_step + i])
            idx = tf.random.stateless_uniform([2, self.batch_size], seed, 0, n, dtype=tf.int32)
            x, y = tf.gather(self.x, idx[0]), tf.gather(self.y, idx[0])
            y_marginal = tf.gather(self.y, idx[1])  # an independent draw: a sample of P_X x P_Y
            with tf.GradientTape() as tape:
                matrix, joint, marginal = self.scores(x, y, y_marginal)
                loss = -self.objective(matrix, joint, marginal)
            variables = self.critic.trainable_variables
            self.optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables, strict=True))
            values = values.write(i, self.value(matrix, joint, marginal))
        return values.stack()

    def evaluate(self, x, y):
        """The bound on held-out samples, using as many marginal pairs as is cheap."""
        if self.bound == "infonce":
            b = self.batch_size
            chunks = [self.critic.matrix(x[i : i + b], y[i : i + b]) for i in range(0, len(x) - b + 1, b)]
            return float(np.mean([bounds.infonce(m) for m in chunks]))
        if self.use_matrix:  # separable: all n(n-1) off-diagonal pairs from one matrix product
            return float(self.value(None, *bounds.split_scores(self.critic.matrix(x, y))))
        rng = np.random.default_rng(self.seed)
        joint = self.critic.pairs(x, y)
        marginal = tf.concat(
            [self.critic.pairs(x, y[rng.permutation(len(y))]) for _ in range(HELDOUT_PERMUTATIONS)], 0
        )
        return float(self.value(None, joint, marginal))


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
    x, y = as_samples("x", x), as_samples("y", y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    choice("bound", bound, BOUNDS)
    steps = positive_int("steps", steps)
    batch_size = positive_int("batch_size", batch_size)
    eval_every = positive_int("eval_every", eval_every)
    patience = positive_int("patience", patience)
    heldout = fraction("heldout", heldout)
    fraction("ema_rate", ema_rate)
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate!r}")
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
    x_train, x_test = _standardise(x[train], x[test])
    y_train, y_test = _standardise(y[train], y[test])

    keras.utils.set_random_seed(seed)
    net = make_critic(critic, x.shape[1], y.shape[1], hidden=hidden, activation=activation, seed=seed)
    trainer = _Trainer(net, bound, x_train, y_train, batch_size, learning_rate, steps, ema_rate, clip, seed)

    history, heldout_history = [], []
    best_value, best_step, best_weights = -np.inf, 0, net.get_weights()
    diverged, done, since_best = False, 0, 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=f"{bound} critic", unit="step", leave=False)
    while done < steps:
        chunk = min(eval_every, steps - done)
        values = trainer.train_chunk(tf.constant(done, tf.int32), tf.constant(chunk, tf.int32)).numpy()
        history.append(values)
        done += chunk
        value = trainer.evaluate(x_test, y_test)
        heldout_history.append((done, value))
        if bar is not None:
            bar.update(chunk)
            bar.set_postfix(heldout=f"{value:.3f}")
        if not (np.all(np.isfinite(values)) and np.isfinite(value)):
            diverged = True
            break
        if value > best_value:
            best_value, best_step, best_weights, since_best = value, done, net.get_weights(), 0
        else:
            since_best += 1
            if since_best >= patience:
                break
    if bar is not None:
        bar.close()
    net.set_weights(best_weights)
    return Estimate(
        value=float(best_value) if best_step else float("nan"),
        bound=bound,
        history=np.concatenate(history),
        heldout_history=np.asarray(heldout_history),
        steps=done,
        best_step=best_step,
        seconds=time.perf_counter() - started,
        diverged=diverged,
    )
