"""mi_lib.estimate against ground truth, its determinism, and its input checks."""

import numpy as np
import pytest

import mi_lib
from mi_lib.truth import MixtureTask, correlated_gaussians, correlated_gaussians_mi


# 20,000 samples: the held-out 30% then pins the value down to about 3% of the truth at d = 2
# (the pointwise MI has variance d rho^2 = 0.5, so its mean over 6,000 pairs has a standard error
# of 0.009 nats), and 10% is more than 3 standard errors. With 5,000 samples that error is 6% of
# the truth, and a 10% check would pass or fail with the draw of the sample, not with the
# estimator. At d = 20 the default critic also needs the samples: with 5,000 it lands 12-18% low
# (it overfits its 3,500 training pairs before it fits the quadratic log-density ratio).
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
    np.testing.assert_array_equal(result.heldout_history[:, 0], [100, 200, 250])
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
    ],
)
def test_bad_input_is_a_clear_value_error(x, y, kwargs, name):
    x_before = np.array(x, copy=True)
    with pytest.raises(ValueError, match=name):
        mi_lib.estimate(x, y, **{"batch_size": 64, **kwargs})
    np.testing.assert_array_equal(np.asarray(x), x_before)  # the caller's data is left untouched


def test_estimate_many_equals_independent_runs():
    """Stacked critics train exactly as independent ones: same split, initial weights, minibatches
    and early stopping; only the batched matrix products round differently (float32)."""
    tasks = [correlated_gaussians(2_000, 2, rho, seed=k) for k, rho in enumerate((0.2, 0.5, 0.8))]
    kwargs = dict(steps=400, eval_every=100, patience=2, batch_size=256)
    together = mi_lib.estimate_many([t[0] for t in tasks], [t[1] for t in tasks], seeds=[0, 1, 2], **kwargs)
    for (x, y), seed, joint in zip(tasks, [0, 1, 2], together, strict=True):
        alone = mi_lib.estimate(x, y, seed=seed, **kwargs)
        assert (joint.steps, joint.best_step) == (alone.steps, alone.best_step)
        assert joint.value == pytest.approx(alone.value, abs=1e-3)
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
