"""mi_lib.estimate against ground truth, its determinism, and its input checks."""

import numpy as np
import pytest

import mi_lib
from mi_lib.truth import MixtureTask, correlated_gaussians, correlated_gaussians_mi


# 20,000 samples: the 30% test split then pins the value down to about 3% of the truth at d = 2
# (the pointwise MI has variance d rho^2 = 0.5, so its mean over 6,000 pairs has a standard error
# of 0.009 nats), and 10% is more than 3 standard errors. With 5,000 samples that error is 6% of
# the truth, and a 10% check would pass or fail with the draw of the sample, not with the
# estimator. The default critic starts from the Gaussian copula's log ratio, exact for these
# tasks, so this checks the plumbing around it (split, transform, training, test evaluation);
# the plain MINE critic on these tasks is chapter 4's subject.
@pytest.mark.parametrize("dim, samples", [(2, 20_000), (20, 20_000)])
def test_estimate_on_the_mine_paper_gaussian_within_10_percent(dim, samples):
    x, y = correlated_gaussians(samples, dim, 0.5, seed=11)
    result = mi_lib.estimate(x, y, seed=0)
    truth = correlated_gaussians_mi(dim, 0.5)
    assert not result.diverged
    assert abs(result.value - truth) < 0.1 * truth, (result, truth)


def test_estimate_is_invariant_to_an_invertible_nonlinear_transform():
    x, y = correlated_gaussians(5_000, 2, 0.8, seed=5)
    truth = correlated_gaussians_mi(2, 0.8)
    result = mi_lib.estimate(np.sinh(x), y**3, seed=0)
    assert abs(result.value - truth) < 0.1 * truth, (result, truth)


def test_estimate_on_the_separated_mixture():
    task = MixtureTask.separated()
    x, z = task.sample(5_000, seed=2)
    truth, _ = task.mutual_information()
    result = mi_lib.estimate(x, z, seed=0)
    assert abs(result.value - truth) < 0.1 * truth, (result, truth)


def test_same_seed_same_value():
    x, y = correlated_gaussians(2_000, 2, 0.5, seed=1)
    first = mi_lib.estimate(x, y, steps=300, seed=3)
    second = mi_lib.estimate(x, y, steps=300, seed=3)
    assert first.value == second.value
    np.testing.assert_array_equal(first.history, second.history)


@pytest.mark.parametrize("bound", ["dv", "nwj", "infonce", "smile"])
def test_every_bound_trains_to_a_sensible_value(bound):
    x, y = correlated_gaussians(4_000, 2, 0.8, seed=4)
    truth = correlated_gaussians_mi(2, 0.8)
    result = mi_lib.estimate(x, y, bound=bound, critic="separable", batch_size=128, steps=1500, seed=0)
    # A generous band: this checks the plumbing of each bound (a wrong sign or a missing term
    # lands far outside it); their accuracy is compared in chapter 2.
    assert 0.7 * truth < result.value < 1.15 * truth, (bound, result, truth)


def test_estimate_reports_its_history():
    x, y = correlated_gaussians(2_000, 1, 0.5, seed=1)
    result = mi_lib.estimate(x, y, steps=250, eval_every=100, patience=100, seed=0)
    assert result.steps == 250 and len(result.history) == 250
    np.testing.assert_array_equal(result.validation_history[:, 0], [100, 200, 250])
    assert result.best_step in (100, 200, 250) and result.seconds > 0
    assert result.bits == pytest.approx(result.value / np.log(2))


GOOD = np.random.default_rng(0).normal(size=(600, 2))


@pytest.mark.parametrize(
    "x, y, kwargs, name",
    [
        (GOOD, GOOD[:500], {}, "same number of samples"),
        (np.where(np.eye(600, 2) > 0, np.nan, GOOD), GOOD, {}, "x contains NaN or inf"),
        (GOOD, np.where(np.eye(600, 2) > 0, np.inf, GOOD), {}, "y contains NaN or inf"),
        (GOOD[:100], GOOD[:100], {"batch_size": 512}, "batch_size"),
        (np.zeros((0, 2)), np.zeros((0, 2)), {}, "x has no samples"),
        (GOOD.reshape(600, 2, 1), GOOD, {}, "x must be 1-D"),
        (GOOD, np.array(["a"] * 600), {}, "y must be numeric"),
        (GOOD, GOOD, {"bound": "mien"}, "bound must be one of"),
        (GOOD, GOOD, {"critic": "deep"}, "critic must be one of"),
        (GOOD, GOOD, {"steps": 0}, "steps must be a positive integer"),
        (GOOD, GOOD, {"heldout": 1.5}, "heldout"),
        (GOOD, GOOD, {"learning_rate": -1.0}, "learning_rate"),
        (GOOD, GOOD, {"learning_rate": float("inf")}, "learning_rate"),
        (GOOD, GOOD, {"learning_rate": True}, "learning_rate"),
        (GOOD, GOOD, {"clip": -1.0}, "clip"),
        (GOOD, GOOD, {"seed": -1}, "seed"),
        (GOOD, GOOD, {"seed": 2**31}, "seed"),
        (GOOD, GOOD, {"seed": "a"}, "seed"),
        (GOOD, GOOD, {"hidden": (0,)}, "hidden"),
        (GOOD, GOOD, {"hidden": 256}, "hidden"),
        (GOOD, GOOD, {"activation": "nope"}, "activation"),
        (GOOD, GOOD, {"transform": "ranks"}, "transform"),
        (GOOD, GOOD, {"validation": 0.8}, "validation"),
        (GOOD, GOOD, {"stepz": 3}, "unknown option 'stepz'"),
        (GOOD, GOOD, {"critic": {"unhashable": 1}}, "critic must be one of"),
    ],
)
def test_bad_input_is_a_clear_value_error(x, y, kwargs, name):
    x_before = np.array(x, copy=True)
    with pytest.raises(ValueError, match=name):
        mi_lib.estimate(x, y, **{"batch_size": 64, **kwargs})
    np.testing.assert_array_equal(np.asarray(x), x_before)  # the caller's data is left untouched


@pytest.mark.parametrize("critic", ["concat", "gaussian-residual"])
def test_estimate_many_equals_independent_runs(critic):
    """Stacked critics train exactly as independent ones: same split, initial weights, minibatches
    and early stopping; only the batched matrix products round differently (float32)."""
    tasks = [correlated_gaussians(2_000, 2, rho, seed=k) for k, rho in enumerate((0.2, 0.5, 0.8))]
    kwargs = dict(steps=400, eval_every=100, patience=2, batch_size=256, critic=critic)
    together = mi_lib.estimate_many([t[0] for t in tasks], [t[1] for t in tasks], seeds=[0, 1, 2], **kwargs)
    for (x, y), seed, joint in zip(tasks, [0, 1, 2], together, strict=True):
        alone = mi_lib.estimate(x, y, seed=seed, **kwargs)
        assert joint.steps == alone.steps
        # Trained alike to float32 rounding: the validation curves agree to 1e-3 nats.
        np.testing.assert_allclose(joint.validation_history, alone.validation_history, atol=1e-3)
        # Where a curve is flat (a weak dependence; the Gaussian part, exact here from step 0),
        # rounding may pick another step of it, whose critic differs slightly: the two test values
        # agree to half their standard error (a stacking error would not).
        assert joint.value == pytest.approx(alone.value, abs=0.5 * alone.stderr)
        np.testing.assert_allclose(joint.history, alone.history, atol=1e-2)


@pytest.mark.parametrize(
    "xs, ys, seeds, kwargs, name",
    [
        ([GOOD, GOOD], [GOOD], [0, 1], {}, "equal length"),
        ([GOOD, GOOD[:500]], [GOOD, GOOD[:500]], [0, 1], {}, "differ in shape"),
        ([GOOD], [GOOD], [0], {"bound": "infonce"}, "infonce"),
        ([GOOD, np.full_like(GOOD, np.nan)], [GOOD, GOOD], [0, 1], {}, r"xs\[1\] contains NaN"),
    ],
)
def test_estimate_many_bad_input(xs, ys, seeds, kwargs, name):
    with pytest.raises(ValueError, match=name):
        mi_lib.estimate_many(xs, ys, seeds=seeds, **{"batch_size": 64, **kwargs})


def _linear_layer(a):
    import keras

    layer = keras.layers.Dense(a.shape[0], use_bias=False)
    layer.build((None, a.shape[1]))
    layer.set_weights([a.T.astype(np.float32)])
    return layer


# A 20-unit linear layer T = AX on X ~ N(0, I_20), A a random rotation scaled so that every unit has
# signal-to-noise s^2 / sigma^2 = 1/3 at sigma = 0.5: I(X; AX + eps) = 10 log(4/3) = 2.88 nats, the
# information of the 20-dimensional Gaussian test above, with 20,000 samples for the same reason.
def test_aa_mine_within_10_percent_of_the_closed_form_for_a_20_unit_linear_layer():
    from mi_lib.truth import noisy_linear_mi

    q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(20, 20)))
    sigma = 0.5
    a = np.sqrt(sigma**2 / 3) * q
    x = np.random.default_rng(1).normal(size=(20_000, 20))
    truth = noisy_linear_mi(a, sigma)
    result = mi_lib.estimate_noisy_layer(x, _linear_layer(a), sigma, seed=0)
    assert not result.diverged
    assert abs(result.value - truth) < 0.1 * truth, (result, truth)


def test_estimate_noisy_layer_leaves_the_callers_layer_trainable():
    # AA-MINE freezes its copy of the layers while the critic trains; the model they belong to must
    # stay trainable afterwards (a student may go on training the classifier).
    layer = _linear_layer(np.eye(3))
    x = np.random.default_rng(0).normal(size=(2_000, 3))
    mi_lib.estimate_noisy_layer(x, layer, 1.0, steps=20, eval_every=10, batch_size=256, seed=0)
    assert layer.trainable and len(layer.trainable_weights) == 1


@pytest.mark.parametrize(
    "layer, sigma, kwargs, name",
    [
        (lambda x: x, 0.0, {}, "sigma must be a positive"),
        (lambda x: x, float("inf"), {}, "sigma must be a positive"),
        (lambda x: x, 1.0, {"critic": "separable"}, "critic must be one of"),
        (lambda x: x[:10], 1.0, {}, "layer must map x"),
        (lambda x: x / 0.0, 1.0, {}, "layer produced NaN or inf"),
        (lambda x: undefined_name, 1.0, {}, "layer could not be applied"),  # noqa: F821
    ],
)
def test_estimate_noisy_layer_bad_input(layer, sigma, kwargs, name):
    x = np.random.default_rng(0).normal(size=(2_000, 3))
    with pytest.raises(ValueError, match=name):
        mi_lib.estimate_noisy_layer(x, layer, sigma, steps=10, **kwargs)


def test_numpy_scalars_are_accepted_options():
    options = mi_lib.Options(learning_rate=np.float32(1e-3), steps=np.int64(10), clip=np.float64(2.0))
    assert options.learning_rate == pytest.approx(1e-3) and options.steps == 10


# --- the reported value, its uncertainty and its reproducibility ----------------------------------


class _GaussianRatioCritic:
    """A fixed critic on standard bivariate Gaussians: ``scale`` times the true log-density ratio at
    correlation ``rho`` (scale 1 is optimal; 0.7 is a critic that is not, so its DV and NWJ differ)."""

    def __init__(self, rho, scale):
        self.rho, self.scale = rho, scale

    def pairs(self, x, y):
        x, y, r = np.asarray(x)[:, 0], np.asarray(y)[:, 0], self.rho
        log_ratio = -0.5 * np.log(1 - r**2) - (r**2 * (x**2 + y**2) - 2 * r * x * y) / (2 * (1 - r**2))
        return self.scale * log_ratio


def _population_bound(critic, bound, clip, n=4_000_000):
    """The critic's bound in the large-sample limit: joint and independent marginal pairs, 4 million each."""
    x, y = correlated_gaussians(n, 1, critic.rho, seed=123)
    joint = critic.pairs(x, y)
    marginal = critic.pairs(x, np.random.default_rng(7).permutation(y))
    if bound == "nwj":
        return joint.mean() - np.exp(marginal - 1).mean()
    if bound == "smile":
        marginal = np.clip(marginal, -clip, clip)
    return joint.mean() - (np.log(np.exp(marginal - marginal.max()).mean()) + marginal.max())


@pytest.mark.parametrize("bound, scale", [("dv", 1.0), ("dv", 0.7), ("nwj", 0.7), ("smile", 1.0)])
def test_the_interval_covers_a_fixed_critics_bound_at_the_nominal_rate(bound, scale):
    from mi_lib import _training

    critic = _GaussianRatioCritic(0.8, scale)
    options = mi_lib.Options(bound=bound, clip=1.0)
    target = _population_bound(critic, bound, options.clip)
    covered, reps = 0, 400
    for rep in range(reps):
        x, y = correlated_gaussians(500, 1, 0.8, seed=1000 + rep)
        value, stderr = _training.test_bound(critic, options, x, y, seed=rep)
        covered += abs(value - target) <= 1.96 * stderr
    # 400 intervals at 95%: the count of covers has a binomial standard deviation of 4.4, so a
    # calibrated interval lands in [352, 392] (about 4.5 standard deviations either side); too
    # narrow an error (ignoring the y-side of the marginal U-statistic, say) covers about 80%.
    assert 352 <= covered <= 392, (bound, scale, covered / reps)


def test_the_reported_value_is_unbiased_for_the_critic_it_reports():
    """Over repeated runs on fresh samples, the test-split value of the chosen critic agrees on average
    with that critic's bound on a large fresh sample; the maximum over validations would sit above it."""
    differences, errors = [], []
    fresh = correlated_gaussians(50_000, 2, 0.8, seed=99)
    for rep in range(12):
        x, y = correlated_gaussians(2_000, 2, 0.8, seed=rep)
        result = mi_lib.estimate(
            x, y, hidden=(64, 64), steps=600, eval_every=25, patience=8, batch_size=256, seed=rep
        )
        large, _ = result.critic.evaluate(*fresh)
        differences.append(result.value - large)
        errors.append(result.stderr)
        # the chosen critic's validation maximum is the selected one: biased upwards on average
    differences = np.array(differences)
    # The mean difference over 12 runs has a standard error of std/sqrt(12); 3 of them is a
    # 0.3% false alarm, and a winner's-curse bias of one test standard error would show.
    assert abs(differences.mean()) < 3 * differences.std(ddof=1) / np.sqrt(len(differences)), differences
    # and the reported standard error is the size of the actual scatter (within a factor of 2)
    assert 0.5 < differences.std(ddof=1) / np.mean(errors) < 2.0, (differences, errors)


def test_an_estimate_records_what_reruns_it():
    x, y = correlated_gaussians(2_000, 2, 0.5, seed=1)
    first = mi_lib.estimate(x, y, steps=200, batch_size=256)  # seed drawn
    again = mi_lib.estimate(x, y, seed=first.seed, **first.options.as_dict())
    assert first.value == again.value and np.isfinite(first.stderr) and first.stderr > 0
    low, high = first.interval(0.95)
    assert low < first.value < high and high - low == pytest.approx(2 * 1.959964 * first.stderr)


def test_a_second_call_of_the_same_shape_reuses_the_compiled_training_loop():
    from mi_lib import _training

    x, y = correlated_gaussians(2_000, 3, 0.5, seed=1)
    options = dict(steps=100, batch_size=128, hidden=(32,))
    mi_lib.estimate(x, y, seed=0, **options)
    trainer = next(reversed(_training._cache.values()))  # the one just used
    traces = trainer.train_chunk.experimental_get_tracing_count()
    mi_lib.estimate(x[::-1], y[::-1], seed=1, **options)
    assert trainer.train_chunk.experimental_get_tracing_count() == traces


@pytest.mark.parametrize("increasing", [np.exp, lambda v: v**3, np.arcsinh])
def test_the_copula_transform_makes_the_estimate_invariant_to_increasing_maps(increasing):
    x, y = correlated_gaussians(2_000, 2, 0.7, seed=3)
    options = dict(transform="copula", steps=300, batch_size=256, seed=0)
    assert mi_lib.estimate(x, increasing(y), **options).value == mi_lib.estimate(x, y, **options).value


def test_the_gaussian_residual_critic_is_accurate_where_a_plain_critic_falls_short():
    # d = 20 at 5,000 samples: the plain concatenated critic lands 12-18% low (README); the Gaussian
    # copula's log ratio is exact for this task, so the residual critic is limited only by the
    # test split's noise (standard error about 0.09 nats, 3% of the truth).
    x, y = correlated_gaussians(5_000, 20, 0.5, seed=0)
    truth = correlated_gaussians_mi(20, 0.5)
    result = mi_lib.estimate(x, y, critic="gaussian-residual", transform="copula", seed=0)
    assert abs(result.value - truth) < 0.1 * truth, (result, truth)


# --- divergence ----------------------------------------------------------------------------------


def test_a_critic_that_returns_inf_is_flagged_as_diverged():
    from mi_lib.critics import ConcatCritic

    class Exploding(ConcatCritic):
        def call(self, inputs):
            return super().call(inputs) + np.inf

    x, y = correlated_gaussians(2_000, 2, 0.5, seed=1)
    result = mi_lib.estimate(x, y, critic=Exploding(hidden=(16,)), steps=300, batch_size=128, seed=0)
    # no critic was ever finite on the validation split: no value to report
    assert result.diverged and np.isnan(result.value) and result.steps == result.options.eval_every


def test_one_diverging_task_leaves_the_others_of_a_batch_untouched(monkeypatch):
    from mi_lib import _training
    from mi_lib.critics import StackedConcatCritic

    tasks = [correlated_gaussians(2_000, 2, 0.5, seed=k) for k in range(3)]
    kwargs = dict(steps=300, batch_size=128, hidden=(16,), seeds=[0, 1, 2])
    clean = mi_lib.estimate_many([t[0] for t in tasks], [t[1] for t in tasks], **kwargs)
    pairs = StackedConcatCritic.pairs
    monkeypatch.setattr(
        StackedConcatCritic, "pairs", lambda self, x, y: pairs(self, x, y) + [[0.0], [np.inf], [0.0]]
    )
    monkeypatch.setattr(_training, "_cache", type(_training._cache)())  # compile with the patch
    broken = mi_lib.estimate_many([t[0] for t in tasks], [t[1] for t in tasks], **kwargs)
    assert broken[1].diverged and np.isnan(broken[1].value)
    for k in (0, 2):
        # the same training, up to the float rounding of another graph (1e-8 nats measured)
        assert not broken[k].diverged and broken[k].value == pytest.approx(clean[k].value, abs=1e-6)


def test_an_estimates_critic_keeps_its_weights_when_the_next_estimate_trains():
    # Later calls of the same shape reuse the compiled trainer, which trains a critic of its own.
    x, y = correlated_gaussians(2_000, 2, 0.5, seed=1)
    options = dict(steps=200, batch_size=128, hidden=(16,))
    first = mi_lib.estimate(x, y, seed=0, **options)
    fresh = correlated_gaussians(2_000, 2, 0.5, seed=2)
    before = first.critic.evaluate(*fresh)
    mi_lib.estimate(*correlated_gaussians(2_000, 2, 0.9, seed=3), seed=1, **options)
    assert first.critic.evaluate(*fresh) == before


@pytest.mark.parametrize("n", [2, 3, 5, 1000])
def test_the_marginal_pairs_never_hold_a_joint_pair(n):
    from mi_lib import _training

    perms = _training.derangements(n, 50, np.random.default_rng(0)).reshape(50, n)
    assert not np.any(perms == np.arange(n)) and all(sorted(p) == list(range(n)) for p in perms)


def test_training_does_not_depend_on_autograph(monkeypatch, disable_autograph):
    """Once in CI, tracing the training loop ran it unconverted by AutoGraph (a Python ``for`` over a
    symbolic tensor, which fails). The compiled loops are explicit while-loops traced with AutoGraph
    off; here AutoGraph converts nothing, and the estimates must come out as they do normally."""
    from collections import OrderedDict

    from mi_lib import _training

    tasks = [correlated_gaussians(1_000, 2, rho, seed=k) for k, rho in enumerate((0.3, 0.7))]
    kwargs = dict(steps=200, eval_every=100, batch_size=128)

    def run():
        alone = mi_lib.estimate(*tasks[0], seed=0, **kwargs)
        many = mi_lib.estimate_many([t[0] for t in tasks], [t[1] for t in tasks], seeds=[0, 1], **kwargs)
        return [alone.value] + [e.value for e in many]

    expected = run()
    monkeypatch.setattr(_training, "_cache", OrderedDict())  # fresh trainers: traced again
    disable_autograph()
    assert run() == expected


def test_stopping_rule_waits_for_a_rise_of_the_trend_beyond_its_threshold():
    """fit()'s rule: stop after `patience` validations in which the mean of the last SMOOTHING
    validation bounds did not rise by more than `threshold` of the bound's standard error."""
    from mi_lib._training import SMOOTHING, StoppingRule

    steady = StoppingRule(patience=2, threshold=0.5)
    assert not any(steady.stop(float(v), 0.1) for v in range(20))  # each rise 1 nat > 0.05
    # Rises of 0.01 with a standard error of 1 are noise: the first validation sets the trend, and
    # two more without a real rise stop it.
    creeping = StoppingRule(patience=2, threshold=0.5)
    assert [creeping.stop(0.01 * i, 1.0) for i in range(3)] == [False, False, True]
    # The trend, not one lucky value: after a single high validation (5), the trend of 0, 5, 0, 4, 4, 4
    # keeps rising although no later value exceeds 5; a rule on single values would stop at the 4th.
    assert SMOOTHING == 3
    smoothed = StoppingRule(patience=2, threshold=0.0)
    assert not any(smoothed.stop(v, 1.0) for v in (0.0, 5.0, 0.0, 4.0, 4.0, 4.0))
