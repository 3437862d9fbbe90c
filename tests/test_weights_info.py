"""Information in weights where I(w; S) is known, for weights that were trained (Bayesian linear
regression, exact posterior means), and the Langevin sampler of the Gibbs posterior against the
Gaussian posterior of Bayesian linear regression."""

import keras
import numpy as np
import pytest
from scipy.special import logsumexp

from mi_lib import truth, weights_info


def linear_model(d):
    return keras.Sequential([keras.Input((d,)), keras.layers.Dense(1, use_bias=False)])


def posterior(x, y, prior_variance, noise_variance):
    """Mean and covariance of the Bayesian posterior of linear regression, prior N(0, prior_variance I)."""
    covariance = np.linalg.inv(x.T @ x / noise_variance + np.eye(x.shape[1]) / prior_variance)
    return covariance @ x.T @ y / noise_variance, covariance


def iiw_of_trained_weights(model, x, y, heldout_mean, noise_variance):
    """IIW of the posterior mean trained on (x, y) (already in ``model``), its variance over training
    sets fitted by ``prior_from_heldout`` from the posterior mean of a held-out set."""
    prior = weights_info.prior_from_heldout(model, [heldout_mean])
    return weights_info.information_in_weights(
        model, x, y, prior, loss="gaussian", noise_variance=noise_variance, fisher_samples=len(x)
    )


@pytest.mark.parametrize("d, n, noise_variance", [(10, 200, 4.0), (20, 400, 1.0)])
def test_iiw_of_trained_weights_matches_i_w_s_in_fixed_design_regression(d, n, noise_variance):
    """The algorithm: posterior sampling, w ~ N(m_S, Sigma) with prior N(0, I), for training sets
    S = (x, x w* + noise) with x and w* fixed. The posterior mean m_S = A y moves with the noise,
    Cov_S(m_S) = Sigma x^T x Sigma / s2, so I(w; S) = 1/2 log det(I + x^T x Sigma / s2) =
    1/2 sum_j log(1 + l_j / (l_j + 1)), l_j the eigenvalues of x^T x / s2: exact, no Monte Carlo.
    The estimator sees only the trained m_S, the training set and the mean of a held-out set S'."""
    rng = np.random.default_rng(0)
    model = linear_model(d)
    x, w_star = rng.normal(size=(n, d)), rng.normal(size=(d, 1))
    eigenvalues = np.linalg.eigvalsh(x.T @ x / noise_variance)
    exact = 0.5 * np.sum(np.log1p(eigenvalues / (eigenvalues + 1.0)))
    values = []
    for _ in range(40):
        y, y_held = (x @ w_star + rng.normal(scale=np.sqrt(noise_variance), size=(n, 1)) for _ in range(2))
        (mean, _), (mean_held, _) = (posterior(x, t, 1.0, noise_variance) for t in (y, y_held))
        model.layers[0].kernel.assign(mean.astype("float32"))
        values.append(iiw_of_trained_weights(model, x, y, mean_held, noise_variance).total)
    values = np.array(values)
    stderr = values.std(ddof=1) / np.sqrt(len(values))
    # Measured: 3.34 +- 0.17 against 3.41 (d = 10) and 6.48 +- 0.19 against 6.92 (d = 20). The known
    # biases are both low: the empirical Fisher uses residuals at m_S, smaller than the noise by the
    # leverage d/n = 5%, and one held-out pair fits the variance with d degrees of freedom (Jensen on
    # log(1 + c mu)). So: no more than 3 standard errors above, 3 standard errors plus 5% below. A
    # variance twice too large moves the estimate up by 1.2 and 3.5 nats and fails.
    assert -3 * stderr - 0.05 * exact < values.mean() - exact < 3 * stderr, (values.mean(), stderr, exact)


def test_iiw_of_trained_weights_matches_i_w_s_by_monte_carlo_over_training_sets():
    """Random design: S = (x, y) with x ~ N(0, I) drawn anew, w* fixed, w ~ N(m_S, Sigma_S). I(w; S)
    = E_S E_w|S log p(w | S) / p(w), the marginal p(w) a mixture over the other training sets."""
    d, n, sets, noise_variance = 8, 200, 1000, 1.0
    rng = np.random.default_rng(1)
    w_star = rng.normal(size=(d, 1))

    def training_set():
        x = rng.normal(size=(n, d))
        return x, x @ w_star + rng.normal(scale=np.sqrt(noise_variance), size=(n, 1))

    means, covariances = zip(
        *(posterior(*training_set(), 1.0, noise_variance) for _ in range(sets)), strict=True
    )
    means, covariances = np.array(means)[..., 0], np.array(covariances)
    w = means + np.einsum("kij,kj->ki", np.linalg.cholesky(covariances), rng.normal(size=(sets, d)))
    inverse, log_det = np.linalg.inv(covariances), np.linalg.slogdet(covariances)[1]
    diff = w[:, None, :] - means[None, :, :]
    log_p = -0.5 * (np.einsum("kjd,jde,kje->kj", diff, inverse, diff) + log_det[None])  # (sample, set)
    marginal = logsumexp(np.where(np.eye(sets, dtype=bool), -np.inf, log_p), axis=1) - np.log(sets - 1)
    terms = np.diag(log_p) - marginal
    exact, exact_stderr = terms.mean(), terms.std(ddof=1) / np.sqrt(sets)

    model = linear_model(d)
    values = []
    for _ in range(60):
        (x, y), (x_held, y_held) = training_set(), training_set()
        model.layers[0].kernel.assign(posterior(x, y, 1.0, noise_variance)[0].astype("float32"))
        held_mean = posterior(x_held, y_held, 1.0, noise_variance)[0]
        values.append(iiw_of_trained_weights(model, x, y, held_mean, noise_variance).total)
    values = np.array(values)
    stderr = np.hypot(values.std(ddof=1) / np.sqrt(len(values)), exact_stderr)
    # Measured: 2.66 +- 0.14 (60 sets) against 2.93 +- 0.07 nats. The known biases are all low: one
    # held-out pair fits the variance on d = 8 degrees of freedom, and E log(1 + c mu) falls below
    # log(1 + E c mu) (Jensen, about 5%); the empirical Fisher uses residuals smaller than the noise
    # by the leverage d/n = 4%. So: no more than 3 standard errors above, and 3 standard errors plus
    # 15% below. A variance twice too large gives 4.15 nats (+1.2) and fails; half, about 1.7.
    assert -3 * stderr - 0.15 * exact < values.mean() - exact < 3 * stderr, (values.mean(), exact, stderr)


def test_iiw_is_zero_where_the_weights_do_not_depend_on_the_training_set():
    """At initialisation, and after a training that ignores its data, the weights are the same for
    S and S': IIW is 0 however sharp the loss is there. Trained on S and S', it is not."""
    import tensorflow as tf

    rng = np.random.default_rng(3)
    sets = [(rng.normal(size=(200, 6)).astype("float32"), rng.integers(0, 3, 200)) for _ in range(3)]

    def trained(data, steps):
        model = classifier()
        optimizer = keras.optimizers.SGD(0.1)
        for _ in range(steps):
            with tf.GradientTape() as tape:
                loss = tf.reduce_mean(
                    tf.nn.sparse_softmax_cross_entropy_with_logits(labels=data[1], logits=model(data[0]))
                )
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return model

    (x, y), held, fixed = sets

    def iiw(model_s, model_held):
        prior = weights_info.prior_from_heldout(model_s, [v.numpy() for v in model_held.trainable_variables])
        return weights_info.information_in_weights(model_s, x, y, prior, fisher_samples=64).total

    at_init = iiw(trained((x, y), 0), trained(held, 0))
    ignoring_data = iiw(trained(fixed, 20), trained(fixed, 20))
    learning = iiw(trained((x, y), 20), trained(held, 20))
    # The curvature alone (the old estimator: a variance that does not depend on S) is large at
    # initialisation: that is the difference the held-out pair makes.
    model = trained((x, y), 0)
    curvature = weights_info.information_in_weights(
        model,
        x,
        y,
        weights_info.GaussianPrior(tuple(v.numpy() for v in model.trainable_variables), (0.01, 0.01)),
    ).total
    assert at_init < 1e-6 and ignoring_data < 1e-6, (at_init, ignoring_data)
    assert learning > 0.1 and curvature > 0.1, (learning, curvature)


@pytest.mark.parametrize("beta", [1.0, 2.0])
def test_langevin_samples_the_gibbs_posterior_of_bayesian_linear_regression(beta):
    """exp(-n L_S / beta) p(w) with L_S the mean Gaussian NLL is N(m, C), C^-1 = x^T x / (beta s2) +
    I / s0: the samples' mean and covariance must match, within their Monte Carlo error."""
    d, n = 2, 50
    rng = np.random.default_rng(4)
    x = rng.normal(size=(n, d))
    y = x @ np.array([[1.0], [-0.5]]) + rng.normal(size=(n, 1))
    mean, covariance = posterior(x, y, 1.0, beta)  # noise variance 1 at temperature beta
    keras.utils.set_random_seed(0)
    model = linear_model(d)
    prior = weights_info.GaussianPrior((np.zeros((d, 1)),), (1.0,))
    samples = weights_info.sample_gibbs_posterior(
        model,
        x,
        y,
        prior,
        beta=beta,
        steps=20000,
        batch=10,
        step_size=2e-2,
        final_step_size=2e-3,
        loss="gaussian",
        record_every=10,
        burn_in=2000,
        seed=0,
    )
    assert samples.shape == (1800, d)
    # Monte Carlo error by batch means: 10 blocks of 180 thinned samples, each longer than the
    # autocorrelation time (about 1 / (eps * precision) = 20 steps = 2 samples).
    blocks = samples.reshape(10, -1, d)
    block_means = blocks.mean(1)
    mean_stderr = block_means.std(0, ddof=1) / np.sqrt(10)
    z = (samples.mean(0) - mean[:, 0]) / mean_stderr
    assert np.all(np.abs(z) < 4), z
    ratios = np.array([np.diag(np.cov(b.T)) for b in blocks]) / np.diag(covariance)  # (block, d)
    ratio_stderr = ratios.std(0, ddof=1) / np.sqrt(10)
    # The step's discretisation shrinks nothing measurable (eps * precision / 4 < 2% at the end);
    # a temperature off by n would give ratios of 1/50, noise off by 2 ratios of 1/2.
    assert np.all(np.abs(ratios.mean(0) - 1) < 4 * ratio_stderr + 0.03), (ratios.mean(0), ratio_stderr)
    correlation = np.corrcoef(samples.T)[0, 1]
    exact_correlation = covariance[0, 1] / np.sqrt(covariance[0, 0] * covariance[1, 1])
    assert abs(correlation - exact_correlation) < 0.15, (correlation, exact_correlation)


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
    prior = weights_info.prior_from_heldout(model, moved)
    # the variance over training sets: half the mean squared difference, 0.05^2 / 2 on average
    assert len(prior.variance) == 2 and all(0.0005 < v < 0.0025 for v in prior.variance)
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
    prior = weights_info.prior_from_heldout(model, [w + 0.1 for w in weights])
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
        weights_info.prior_from_heldout(model, weights[:3])
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
    prior = weights_info.prior_from_heldout(model, [w + 0.1 for w in weights])
    weights_info.information_in_weights(model, x, y, prior)
    alive = weakref.ref(model)
    del model
    gc.collect()
    assert alive() is None


def test_langevin_does_not_depend_on_autograph(disable_autograph):
    """As the estimator's training loop (tests/test_estimators.py): with AutoGraph converting
    nothing, the Langevin steps still run in their graph and give the same samples."""
    rng = np.random.default_rng(4)
    x = rng.normal(size=(50, 2))
    y = x @ np.array([[1.0], [-0.5]]) + rng.normal(size=(50, 1))
    prior = weights_info.GaussianPrior((np.zeros((2, 1)),), (1.0,))

    def run():
        keras.utils.set_random_seed(0)
        return weights_info.sample_gibbs_posterior(
            linear_model(2),
            x,
            y,
            prior,
            steps=300,
            batch=10,
            step_size=2e-2,
            loss="gaussian",
            record_every=100,
            burn_in=0,
            seed=0,
        )

    expected = run()
    disable_autograph()
    np.testing.assert_array_equal(run(), expected)
