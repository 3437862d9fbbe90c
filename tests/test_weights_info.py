"""Information in weights against the one case with a known answer: Bayesian linear regression."""

import keras
import numpy as np
import pytest

from mi_lib import truth, weights_info


def linear_model(d):
    return keras.Sequential([keras.Input((d,)), keras.layers.Dense(1, use_bias=False)])


def regression_set(rng, n, d, prior_variance, noise_variance):
    """One training set of Bayesian linear regression and its exact posterior mean."""
    x = rng.normal(size=(n, d))
    w = rng.normal(scale=np.sqrt(prior_variance), size=(d, 1))
    y = x @ w + rng.normal(scale=np.sqrt(noise_variance), size=(n, 1))
    precision = x.T @ x / noise_variance + np.eye(d) / prior_variance
    return x, y, np.linalg.solve(precision, x.T @ y / noise_variance)


@pytest.mark.parametrize("prior_variance, noise_variance", [(1.0, 1.0), (0.1, 2.0)])
def test_iiw_matches_the_closed_form_of_bayesian_linear_regression(prior_variance, noise_variance):
    d, n = 5, 200
    model = linear_model(d)
    prior = weights_info.GaussianPrior((np.zeros((d, 1)),), (prior_variance,))
    rng = np.random.default_rng(0)
    errors = []
    for _ in range(20):
        x, y, posterior_mean = regression_set(rng, n, d, prior_variance, noise_variance)
        model.layers[0].kernel.assign(posterior_mean.astype("float32"))
        iiw = weights_info.information_in_weights(
            model, x, y, prior, loss="gaussian", noise_variance=noise_variance, fisher_samples=n
        )
        exact = truth.linear_regression_weights_mi(x, prior_variance, noise_variance)
        errors.append(iiw.total / exact - 1)
    # The empirical Fisher uses residuals at the posterior mean, which are smaller than the noise
    # by the leverage d/n = 2.5% on average, so the estimate sits low: over 200 training sets the
    # mean error is -1.0% and -1.8% with a spread of 2% and 4% per set (largest 7% and 15%). The
    # mean of these 20 sets may be off by the bias plus 3 standard errors (4.5%); a wrong factor of
    # 2 in n, s^2 or the noise moves the estimate by 10-27%.
    assert abs(np.mean(errors)) < 0.05, np.mean(errors)
    assert np.max(np.abs(errors)) < 0.20, errors


def test_more_data_and_a_wider_prior_give_more_information_in_weights():
    d = 4
    model = linear_model(d)
    rng = np.random.default_rng(1)
    values = {}
    for n, s2 in [(50, 1.0), (800, 1.0), (800, 10.0)]:
        x, y, mean = regression_set(rng, n, d, s2, 1.0)
        model.layers[0].kernel.assign(mean.astype("float32"))
        prior = weights_info.GaussianPrior((np.zeros((d, 1)),), (s2,))
        values[n, s2] = weights_info.information_in_weights(model, x, y, prior, loss="gaussian").total
    assert values[50, 1.0] < values[800, 1.0] < values[800, 10.0]


def classifier(seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((6,)), keras.layers.Dense(8, activation="tanh"), keras.layers.Dense(3)]
    )


def test_classifier_iiw_is_finite_non_negative_and_per_layer():
    model = classifier()
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 6)).astype("float32")
    y = rng.integers(0, 3, size=300)
    initial = [v.numpy() for v in model.trainable_variables]
    moved = [w + 0.05 * rng.normal(size=w.shape) for w in initial]
    prior = weights_info.prior_from_heldout(model, initial, moved)
    assert len(prior.variance) == 2 and all(0 < v < 0.01 for v in prior.variance)
    iiw = weights_info.information_in_weights(model, x, y, prior, fisher_samples=64)
    assert iiw.fisher_samples == 64 and iiw.n == 300
    assert len(iiw.layers) == len(iiw.fisher_distance) == 2
    assert all(np.isfinite(v) and v >= 0 for v in iiw.layers + iiw.fisher_distance)
    assert iiw.total == pytest.approx(sum(iiw.layers))
    # the same seed draws the same Fisher samples
    assert weights_info.information_in_weights(model, x, y, prior, fisher_samples=64).total == iiw.total


def test_bad_input_is_refused_with_the_argument_named():
    model = classifier()
    x = np.zeros((10, 6), "float32")
    y = np.zeros(10, int)
    weights = [v.numpy() for v in model.trainable_variables]
    prior = weights_info.prior_from_heldout(model, weights, [w + 0.1 for w in weights])
    with pytest.raises(ValueError, match="x has no samples"):
        weights_info.information_in_weights(model, np.zeros((0, 6)), np.zeros(0, int), prior)
    with pytest.raises(ValueError, match=r"x has samples of shape \(5,\) but the model expects \(6,\)"):
        weights_info.information_in_weights(model, np.zeros((10, 5)), y, prior)
    with pytest.raises(ValueError, match="x has 10 samples but y has 9"):
        weights_info.information_in_weights(model, x, y[:9], prior)
    with pytest.raises(ValueError, match=r"labels in \[0, 3\)"):
        weights_info.information_in_weights(model, x, y + 3, prior)
    with pytest.raises(ValueError, match="prior.mean has 2 arrays but the model has 4"):
        weights_info.information_in_weights(
            model, x, y, weights_info.GaussianPrior(tuple(weights[:2]), (1.0,))
        )
    with pytest.raises(ValueError, match=r"prior.variance\[1\] must be a positive"):
        weights_info.information_in_weights(
            model, x, y, weights_info.GaussianPrior(tuple(weights), (1.0, 0.0))
        )
    with pytest.raises(ValueError, match="loss must be one of"):
        weights_info.information_in_weights(model, x, y, prior, loss="hinge")
    with pytest.raises(ValueError, match="heldout_weights has arrays of shapes"):
        weights_info.prior_from_heldout(model, weights, weights[:3])
    with pytest.raises(ValueError, match="information must be finite and non-negative"):
        weights_info.generalisation_bound(-1.0, 100)


def test_regression_targets_are_checked():
    model = linear_model(3)
    prior = weights_info.GaussianPrior((np.zeros((3, 1)),), (1.0,))
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="y contains NaN"):
        weights_info.information_in_weights(model, x, np.array([0, np.nan, 1, 2]), prior, loss="gaussian")
    with pytest.raises(ValueError, match=r"y has targets of shape \(2,\) but the model outputs \(1,\)"):
        weights_info.information_in_weights(model, x, np.zeros((4, 2)), prior, loss="gaussian")


def test_generalisation_bound_is_xu_and_raginsky():
    assert weights_info.generalisation_bound(8.0, 100, sigma=0.5) == pytest.approx(
        np.sqrt(2 * 0.25 * 8 / 100)
    )


def test_linear_regression_closed_form_checks_its_input():
    assert truth.linear_regression_weights_mi(np.eye(3), 1.0, 1.0) == pytest.approx(1.5 * np.log(2))
    with pytest.raises(ValueError, match="x has no samples"):
        truth.linear_regression_weights_mi(np.zeros((0, 3)), 1.0, 1.0)
    with pytest.raises(ValueError, match="noise_variance must be a positive"):
        truth.linear_regression_weights_mi(np.eye(3), 1.0, 0.0)


def test_the_cached_gradient_function_does_not_keep_the_model_alive():
    import gc
    import weakref

    model = classifier()
    x, y = np.zeros((5, 6), "float32"), np.zeros(5, int)
    weights = [v.numpy() for v in model.trainable_variables]
    prior = weights_info.prior_from_heldout(model, weights, [w + 0.1 for w in weights])
    weights_info.information_in_weights(model, x, y, prior)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None
