"""The variational bounds against closed forms and against each other."""

import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from mi_lib import bounds

RNG = np.random.default_rng(0)


def gaussian_kl(mu_p, s_p, mu_q, s_q):
    return np.log(s_q / s_p) + (s_p**2 + (mu_p - mu_q) ** 2) / (2 * s_q**2) - 0.5


def test_dv_at_optimal_critic_equals_gaussian_kl():
    p, q = stats.norm(1.0, 0.7), stats.norm(0.0, 1.5)
    n = 1_000_000
    xp, xq = p.rvs(n, random_state=1), q.rvs(n, random_state=2)
    truth = gaussian_kl(1.0, 0.7, 0.0, 1.5)
    for shift in (0.0, -3.0, 5.0):  # DV does not see a constant added to the critic
        tp, tq = p.logpdf(xp) - q.logpdf(xp) + shift, p.logpdf(xq) - q.logpdf(xq) + shift
        value = float(bounds.dv(tp, tq))
        # Delta-method standard error of the plug-in DV: sqrt(Var_P[T]/n + Var_Q[e^T]/(n E_Q[e^T]^2)).
        w = np.exp(tq - tq.max())
        se = np.sqrt(tp.var() / n + w.var() / (n * w.mean() ** 2))
        assert abs(value - truth) < 4 * se, (shift, value, truth, se)


def test_dv_is_loose_away_from_the_optimal_critic():
    p, q = stats.norm(1.0, 0.7), stats.norm(0.0, 1.5)
    xp, xq = p.rvs(500_000, random_state=3), q.rvs(500_000, random_state=4)
    truth = gaussian_kl(1.0, 0.7, 0.0, 1.5)
    for scale in (0.5, 2.0):
        value = float(bounds.dv(scale * (p.logpdf(xp) - q.logpdf(xp)), scale * (p.logpdf(xq) - q.logpdf(xq))))
        assert value < truth - 0.05, (scale, value, truth)


@pytest.mark.parametrize("trial", range(20))
def test_dv_is_never_below_nwj_for_the_same_critic(trial):
    rng = np.random.default_rng(trial)
    scale = rng.uniform(0.1, 5)
    joint, marginal = rng.normal(1, scale, 64), rng.normal(rng.uniform(-3, 3), scale, 256)
    assert float(bounds.dv(joint, marginal)) >= float(bounds.nwj(joint, marginal)) - 1e-6


def test_nwj_equals_dv_only_at_the_normalising_constant():
    joint, marginal = RNG.normal(1, 1, 100), RNG.normal(0, 1, 100)
    shift = 1 - float(bounds.logmeanexp(marginal))  # the constant that makes E_Q[e^(T-1)] = 1
    assert float(bounds.nwj(joint + shift, marginal + shift)) == pytest.approx(
        float(bounds.dv(joint, marginal)), abs=1e-5
    )


@pytest.mark.parametrize("batch", [2, 16, 128])
def test_infonce_never_exceeds_log_batch(batch):
    for scale in (0.0, 1.0, 100.0, 1e4):
        scores = RNG.normal(0, scale, (batch, batch))
        scores[np.diag_indices(batch)] += 10 * scale  # the most favourable case: a huge diagonal
        assert float(bounds.infonce(scores)) <= np.log(batch) + 1e-6


def test_infonce_approaches_log_batch_for_a_perfect_critic():
    scores = np.full((32, 32), -50.0)
    np.fill_diagonal(scores, 50.0)
    assert float(bounds.infonce(scores)) == pytest.approx(np.log(32), abs=1e-6)


def test_smile_clipping_only_touches_the_marginal_scores():
    joint, marginal = RNG.normal(0, 1, 50), RNG.normal(0, 10, 50)
    assert float(bounds.smile(joint, marginal, clip=1e9)) == pytest.approx(float(bounds.dv(joint, marginal)))
    clipped = np.clip(marginal, -2, 2)
    assert float(bounds.smile(joint, marginal, clip=2.0)) == pytest.approx(float(bounds.dv(joint, clipped)))


def test_logmeanexp_does_not_overflow():
    assert float(bounds.logmeanexp(np.array([1000.0, 1000.0]))) == pytest.approx(1000.0)


def test_mine_surrogate_first_step_equals_the_dv_step():
    """Initialised from the first batch, the moving average makes step 1 a plain DV step (no huge step)."""
    w = tf.Variable(0.3)
    joint_x, marginal_x = tf.constant(RNG.normal(1, 1, 64)), tf.constant(RNG.normal(0, 1, 64))

    def scores():
        return tf.cast(w, tf.float64) * joint_x, tf.cast(w, tf.float64) * marginal_x

    with tf.GradientTape() as tape:
        surrogate, log_avg = bounds.mine_surrogate(*scores(), tf.constant(np.nan, tf.float64))
    with tf.GradientTape() as dv_tape:
        dv = bounds.dv(*scores())
    assert float(tape.gradient(surrogate, w)) == pytest.approx(float(dv_tape.gradient(dv, w)), rel=1e-6)
    assert float(log_avg) == pytest.approx(float(bounds.logmeanexp(scores()[1])))


def test_mine_surrogate_uses_the_moving_average_in_the_gradient():
    w = tf.Variable(1.0)
    joint, marginal = tf.constant(RNG.normal(1, 1, 32)), tf.constant(RNG.normal(0, 1, 32))
    log_avg = tf.constant(np.log(5.0), tf.float64)  # a moving average far from this batch's mean
    rate = 0.1
    with tf.GradientTape() as tape:
        m = tf.cast(w, tf.float64) * marginal
        surrogate, updated = bounds.mine_surrogate(tf.cast(w, tf.float64) * joint, m, log_avg, rate)
    batch_mean = np.mean(np.exp(marginal.numpy()))
    average = (1 - rate) * 5.0 + rate * batch_mean
    assert float(updated) == pytest.approx(np.log(average))
    # d/dw [mean(w j) - mean(e^(w m)) / average] at w = 1
    expected = np.mean(joint.numpy()) - np.mean(marginal.numpy() * np.exp(marginal.numpy())) / average
    assert float(tape.gradient(surrogate, w)) == pytest.approx(expected, rel=1e-6)


def test_split_scores():
    scores = np.arange(9.0).reshape(3, 3)
    joint, marginal = bounds.split_scores(scores)
    np.testing.assert_array_equal(joint.numpy(), [0, 4, 8])
    np.testing.assert_array_equal(np.sort(marginal.numpy()), [1, 2, 3, 5, 6, 7])
