"""``estimate(x, y)``: a neural estimate of I(X; Y) in nats with its standard error;
``estimate_many``: many independent estimates trained together in one compiled graph.

The recipe (after MINE and the benchmark practice of bmi): map each coordinate with training
statistics (standardise, or normal scores for ``transform="copula"``), split the samples three
ways, train a critic on minibatches of the training split with Adam inside one compiled graph per
``eval_every`` steps, evaluate the bound on the validation split after every chunk, stop when it
(smoothed) has not risen by a quarter of its standard error for ``patience`` evaluations, and
report the bound of the best critic on the test split, which chose nothing, with its standard
error. The compiled graphs are kept and reused by the next call of the same shape and options.
"""

import time
from dataclasses import asdict, dataclass, field, fields

import numpy as np
import tensorflow as tf
from scipy.stats import norm

from mi_lib import _training
from mi_lib._checks import as_samples, choice, draw_seed, fraction, positive_int, positive_number, widths
from mi_lib._checks import seed as check_seed
from mi_lib.critics import ArchitectureAwareCritic, check_activation, check_critic, make_critic

BOUNDS = ("dv", "mine", "nwj", "infonce", "smile")
TRANSFORMS = ("standardise", "copula")
STACKED_CRITICS = ("concat", "gaussian-residual")
NOISY_CRITICS = {"aa-difference": "difference", "aa": "pair", "concat": None}


@dataclass(frozen=True)
class Options:
    """How an estimate is trained and evaluated; every option is checked here, once.

    bound: ``mine`` (DV trained with MINE's moving-average gradient correction), ``dv``, ``nwj``,
        ``infonce`` (never above log batch_size) or ``smile`` (clipped DV trained with JS).
    critic: ``gaussian-residual`` (the default: the log-density ratio of the Gaussian fitted to the
        training samples by canonical correlation analysis, plus a concat network that learns the
        rest), ``concat`` (MINE's statistics network on [x, y], as published), ``separable``
        (g(x)^T h(y)) or a model with ``pairs`` and ``matrix`` methods. The defaults of critic and
        transform were chosen by benchmarks/accuracy.py (README).
    hidden, activation: the hidden layers of a named critic.
    transform: ``copula`` (the default): each coordinate to the normal scores of its ranks, which
        makes the estimate invariant to any strictly increasing map of any coordinate; or
        ``standardise`` each coordinate.
    steps: the most training steps; training stops earlier when the validation bound (the mean of
        the last three) has not risen by a quarter of its standard error for ``patience``
        evaluations, one every ``eval_every`` steps (benchmarks/stopping_rule.py chose the rule).
    heldout: the fraction of samples in the test split (``Estimate.value`` is evaluated on it);
    validation: the fraction that chooses when to stop. The rest trains.
    ema_rate: MINE's moving-average rate; clip: SMILE's clipping threshold.
    """

    bound: str = "mine"
    critic: object = "gaussian-residual"
    hidden: tuple = (256, 256)
    activation: object = "relu"
    transform: str = "copula"
    steps: int = 4000
    batch_size: int = 512
    learning_rate: float = 5e-4
    heldout: float = 0.3
    validation: float = 0.1
    eval_every: int = 100
    patience: int = 6
    ema_rate: float = 0.01
    clip: float = 5.0

    def __post_init__(self):
        def set_(name, value):
            object.__setattr__(self, name, value)

        choice("bound", self.bound, BOUNDS)
        choice("transform", self.transform, TRANSFORMS)
        check_critic(self.critic)
        set_("hidden", widths("hidden", self.hidden))
        check_activation(self.activation)
        for name in ("steps", "batch_size", "eval_every", "patience"):
            set_(name, positive_int(name, getattr(self, name)))
        set_("learning_rate", positive_number("learning_rate", self.learning_rate))
        set_("clip", positive_number("clip", self.clip, allow_inf=True))  # inf: no clipping
        for name in ("heldout", "validation"):
            set_(name, fraction(name, getattr(self, name)))
        set_("ema_rate", fraction("ema_rate", self.ema_rate, include_high=True))  # 1: the plain DV gradient
        if self.heldout + self.validation >= 1:
            raise ValueError(
                f"heldout + validation must leave training samples, got {self.heldout} + {self.validation}"
            )

    @classmethod
    def of(cls, options, defaults=None):
        """Options from keyword arguments, naming any that is unknown."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ValueError(f"unknown option {unknown[0]!r}; the options are {sorted(known)}")
        return cls(**{**(defaults or {}), **options})

    def as_dict(self):
        return asdict(self) if isinstance(self.critic, str) else {**asdict(self), "critic": self.critic}

    def graph_key(self, dims):
        """What a compiled training loop depends on (None: the critic is an object, not reusable)."""
        if not isinstance(self.critic, str) or not isinstance(self.activation, str):
            return None
        skip = ("heldout", "validation", "eval_every", "patience", "transform")
        return (dims, *(value for name, value in asdict(self).items() if name not in skip))


@dataclass(frozen=True)
class Estimate:
    """The result of :func:`estimate`, in nats: the bound of the chosen critic on the test split."""

    value: float
    stderr: float  # standard error of ``value`` over the test pairs (delta method)
    bound: str
    history: np.ndarray  # the minibatch bound at every training step
    validation_history: np.ndarray  # rows (step, validation bound) after every chunk of training
    steps: int  # training steps taken
    best_step: int  # the step whose critic gave ``value`` (chosen on the validation split)
    seconds: float
    diverged: bool  # training produced NaN or inf; ``value`` then comes from the last best critic
    seed: int  # the seed used: estimate(x, y, seed=e.seed, **e.options.as_dict()) repeats it
    options: Options
    critic: object = field(default=None, repr=False, compare=False)  # the chosen critic

    @property
    def bits(self):
        return self.value / np.log(2.0)

    def interval(self, level=0.95):
        """The normal-approximation confidence interval (low, high) for the chosen critic's bound."""
        fraction("level", level)
        half = norm.ppf(0.5 + level / 2) * self.stderr
        return self.value - half, self.value + half

    def __repr__(self):
        flag = ", DIVERGED" if self.diverged else ""
        return (
            f"Estimate({self.value:.4f} ± {self.stderr:.4f} nats, bound={self.bound}, steps={self.steps}, "
            f"best_step={self.best_step}, seed={self.seed}, {self.seconds:.1f} s{flag})"
        )


class ChosenCritic:
    """The critic an estimate chose, behind the marginal transforms it was trained with."""

    def __init__(self, critic, split, options):
        self.critic, self.options = critic, options
        self.transform_x, self.transform_y = split.transform_x, split.transform_y

    def evaluate(self, x, y, seed=0):
        """Its bound on new paired samples of the original scale, and the standard error:
        (value, stderr)."""
        x, y = as_samples("x", x), as_samples("y", y)
        if len(x) != len(y) or len(x) < 2:
            raise ValueError(
                f"x and y must hold the same number (at least 2) of samples, got {len(x)} and {len(y)}"
            )
        return _training.test_bound(self.critic, self.options, self.transform_x(x), self.transform_y(y), seed)


def _results(runs, critics, tasks, options, started):
    seconds = time.perf_counter() - started
    results = []
    for run, critic, task in zip(runs, critics, tasks, strict=True):
        value, stderr = float("nan"), float("nan")
        if run["weights"] is not None:
            critic.set_weights(run["weights"])
            value, stderr = _training.test_bound(critic, options, task.x_test, task.y_test, task.seed)
        results.append(
            Estimate(
                value=value,
                stderr=stderr,
                bound=options.bound,
                history=run["history"],
                validation_history=run["validation"],
                steps=run["steps"],
                best_step=run["best_step"],
                seconds=seconds,
                diverged=run["diverged"],
                seed=task.seed,
                options=options,
                critic=ChosenCritic(critic, task, options),
            )
        )
    return results


def estimate(x, y, *, seed=None, progress=False, **options):
    """Estimate I(X; Y) in nats from paired samples ``x`` (n, dx) and ``y`` (n, dy).

    options: those of :class:`Options` (bound, critic, hidden, activation, transform, steps,
        batch_size, learning_rate, heldout, validation, eval_every, patience, ema_rate, clip).
    seed: fixes the split, the critic's initial weights and the minibatches (None: drawn from numpy's
        global generator, which ``mi_lib.setup`` seeds, and recorded in ``Estimate.seed``).
    Returns an :class:`Estimate`: ``value`` with ``stderr`` and ``interval()``.
    """
    started = time.perf_counter()
    options = Options.of(options)
    seed = check_seed("seed", seed)
    task = _training.split(x, y, options, draw_seed() if seed is None else seed)
    dims = (task.x_train.shape, task.y_train.shape, task.y_val.shape)
    critic = make_critic(
        options.critic, dims[0][1], dims[1][1], options.hidden, options.activation, task.seed
    )
    if hasattr(critic, "adapt"):
        critic.adapt(task.x_train, task.y_train)

    def private():
        return make_critic(options.critic, dims[0][1], dims[1][1], options.hidden, options.activation)

    trainer = _training.trainer_for([critic], options, [task], options.graph_key(dims), private)
    runs = _training.fit(trainer, options, progress)
    return _results(runs, [critic], [task], options, started)[0]


def estimate_many(xs, ys, *, seeds, progress=False, **options):
    """Many independent estimates, one per task ``(xs[k], ys[k])`` with seed ``seeds[k]``, trained
    together: their concatenated critics are stacked into one network and each training step is one
    batched pass for all of them. Each task gets what ``estimate(xs[k], ys[k], seed=seeds[k])`` gives
    (up to float rounding): the same split, initial weights, minibatches and early stopping.

    All tasks must have the same number of samples and dimensions. Only the critics ``concat`` and
    ``gaussian-residual`` and the pair-based bounds (``mine``, ``dv``, ``nwj``, ``smile``) are
    stacked. Returns a list of :class:`Estimate`; their ``seconds`` is the time of the whole batch.
    """
    started = time.perf_counter()
    options = Options.of(options)
    if options.bound == "infonce":
        raise ValueError("bound 'infonce' needs score matrices; estimate_many stacks pair-based bounds only")
    if options.critic not in STACKED_CRITICS:
        raise ValueError(
            f"critic must be one of {list(STACKED_CRITICS)} in estimate_many, got {options.critic!r}"
        )
    xs, ys, seeds = list(xs), list(ys), list(seeds)
    if not (len(xs) == len(ys) == len(seeds)) or not xs:
        raise ValueError(
            f"xs, ys and seeds must be non-empty and of equal length, got {len(xs)}, {len(ys)}, {len(seeds)}"
        )
    seeds = [check_seed(f"seeds[{k}]", s) for k, s in enumerate(seeds)]
    tasks = [
        _training.split(x, y, options, draw_seed() if s is None else s, (f"xs[{k}]", f"ys[{k}]"))
        for k, (x, y, s) in enumerate(zip(xs, ys, seeds, strict=True))
    ]
    dims = (tasks[0].x_train.shape, tasks[0].y_train.shape, tasks[0].y_val.shape)
    for k, t in enumerate(tasks):
        if (t.x_train.shape, t.y_train.shape, t.y_val.shape) != dims:
            raise ValueError(
                f"xs[{k}], ys[{k}] differ in shape from xs[0], ys[0]: stacked tasks must have the "
                "same numbers of samples and dimensions"
            )
    critics = []
    for t in tasks:
        critics.append(
            make_critic(options.critic, dims[0][1], dims[1][1], options.hidden, options.activation, t.seed)
        )
        if hasattr(critics[-1], "adapt"):
            critics[-1].adapt(t.x_train, t.y_train)
    key = options.graph_key(dims)
    key = None if key is None else ("stacked", len(tasks), *key)
    trainer = _training.trainer_for(critics, options, tasks, key)
    runs = _training.fit(trainer, options, progress)
    return _results(runs, critics, tasks, options, started)


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


def estimate_noisy_layer(x, layer, sigma, *, critic="aa-difference", seed=None, progress=False, **options):
    """Estimate I(X; T + eps) in nats, where T = layer(X) and eps ~ N(0, sigma^2 I) is drawn once
    per sample. For continuous X and a deterministic layer I(X; T) is infinite; the noise makes it
    finite, and I(X; T + eps) = h(T + eps) - h(eps) measures how spread out (how little compressed)
    the representation is at the scale sigma.

    layer: a Keras model or callable mapping float32 x (n, dim_x) to T (n, dim_t); never trained.
    critic: ``aa-difference`` (AA-MINE fed T(X) and T' + eps - T(X)), ``aa`` (AA-MINE fed T(X) and
        T' + eps) or ``concat`` (plain MINE on (X, T' + eps), with the ``transform`` option).
    The AA critics read x and the noisy layer as they are (no transform). The other options are
    those of :func:`estimate`.
    """
    started = time.perf_counter()
    choice("critic", critic, NOISY_CRITICS)
    if "critic" in options:
        raise ValueError("critic is this function's own argument, one of " + str(sorted(NOISY_CRITICS)))
    options = Options.of(options)
    positive_number("sigma", sigma)
    seed = check_seed("seed", seed)
    seed = draw_seed() if seed is None else seed
    x = as_samples("x", x).astype(np.float32)
    t = _layer_outputs(layer, x)
    noise = np.random.default_rng([seed, 1]).standard_normal(t.shape).astype(np.float32)
    y = t + np.float32(sigma) * noise
    if critic == "concat":
        return estimate(x, y, seed=seed, progress=progress, **{**options.as_dict(), "critic": "concat"})
    task = _training.split(x, y, options, seed, transform="none")
    scale = task.y_train.std(axis=0)
    scale[scale == 0] = 1.0
    # The critic freezes the layer while it trains; the caller's model gets its flag back afterwards.
    was_trainable = getattr(layer, "trainable", None)
    try:
        mode, mean = NOISY_CRITICS[critic], task.y_train.mean(axis=0)
        net = ArchitectureAwareCritic(
            layer, sigma, mean, scale, mode, options.hidden, options.activation, seed
        )
        net = make_critic(net, x.shape[1], t.shape[1])
        trainer = _training.trainer_for([net], options, [task], None)
        runs = _training.fit(trainer, options, progress)
        return _results(runs, [net], [task], options, started)[0]
    finally:
        if was_trainable is not None:
            layer.trainable = was_trainable
