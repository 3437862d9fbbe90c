"""Variational lower bounds on mutual information, as pure functions of critic scores.

A critic T(x, y) scores pairs. ``joint`` holds scores of pairs drawn from the joint distribution,
``marginal`` scores of pairs drawn from the product of the marginals (y shuffled against x).
InfoNCE needs the whole score matrix ``scores[i, j] = T(x_i, y_j)`` whose diagonal is the joint.
Every function returns a scalar tensor in nats; they work on numpy arrays and inside ``tf.function``.

References: Donsker & Varadhan (DV); Belghazi et al. 2018 (MINE); Nguyen, Wainwright & Jordan 2010
(NWJ); van den Oord et al. 2018 (InfoNCE); Song & Ermon 2020 (SMILE); Poole et al. 2019 (survey).
"""

import numpy as np
import tensorflow as tf

from mi_lib._checks import fraction, positive_number


def _tensor(values, name="scores"):
    """Scores as a tensor. A tensor (inside a training graph) passes as it is; anything else is
    checked first: numeric, not empty, finite."""
    if isinstance(values, (tf.Tensor, tf.Variable)):
        return values
    values = np.asarray(values)
    if values.dtype == object or not (np.issubdtype(values.dtype, np.number) or values.dtype == bool):
        raise ValueError(f"{name} must be numeric scores, got dtype {values.dtype}")
    if values.size == 0:
        raise ValueError(f"{name} is empty (shape {values.shape})")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} contains NaN or inf")
    return tf.convert_to_tensor(values if values.dtype == np.float64 else values.astype(np.float32))


def _matrix(scores):
    scores = _tensor(scores, "scores")
    if scores.shape.rank != 2 or (scores.shape[0] is not None and scores.shape[0] != scores.shape[1]):
        raise ValueError(f"scores must be a square (b, b) matrix, got shape {tuple(scores.shape)}")
    return scores


def _clip(clip):
    if isinstance(clip, (tf.Tensor, tf.Variable)):
        return clip
    return positive_number("clip", clip, allow_inf=True)  # inf: no clipping


def logmeanexp(values, axis=None):
    """log(mean(exp(values))), computed without overflow."""
    values = _tensor(values, "values")
    count = tf.size(values) if axis is None else tf.shape(values)[axis]
    return tf.reduce_logsumexp(values, axis=axis) - tf.math.log(tf.cast(count, values.dtype))


def dv(joint, marginal, axis=None):
    """Donsker-Varadhan: E_P[T] - log E_Q[e^T]. Tight at T = log dP/dQ + C for any constant C.
    ``axis=-1``: one bound per row (stacked tasks)."""
    joint, marginal = _tensor(joint, "joint"), _tensor(marginal, "marginal")
    return tf.reduce_mean(joint, axis=axis) - logmeanexp(marginal, axis=axis)


def nwj(joint, marginal, axis=None):
    """NWJ (MINE-f): E_P[T] - E_Q[e^(T-1)]. Tight only at T = 1 + log dP/dQ; never above DV."""
    joint, marginal = _tensor(joint, "joint"), _tensor(marginal, "marginal")
    return tf.reduce_mean(joint, axis=axis) - tf.reduce_mean(tf.exp(marginal - 1.0), axis=axis)


def smile(joint, marginal, clip=5.0, axis=None):
    """SMILE: DV with the marginal scores clipped to [-clip, clip], trading bias for variance."""
    joint, marginal, clip = _tensor(joint, "joint"), _tensor(marginal, "marginal"), _clip(clip)
    marginal = tf.clip_by_value(marginal, -clip, clip)
    return tf.reduce_mean(joint, axis=axis) - logmeanexp(marginal, axis=axis)


def infonce(scores):
    """InfoNCE on a (b, b) score matrix: mean_i [T_ii - log mean_j e^(T_ij)]. Never above log b."""
    scores = _matrix(scores)
    # log b - mean_i log sum_j e^(T_ij - T_ii): the sum holds e^0 = 1, so the bound stays below
    # log b in floating point too, however large the scores.
    excess = tf.reduce_logsumexp(scores - tf.linalg.diag_part(scores)[:, None], axis=1)
    return tf.math.log(tf.cast(tf.shape(scores)[0], scores.dtype)) - tf.reduce_mean(excess)


def js_fgan(joint, marginal, axis=None):
    """The Jensen-Shannon f-GAN objective; SMILE trains its critic with it (Song & Ermon 2020)."""
    joint, marginal = _tensor(joint, "joint"), _tensor(marginal, "marginal")
    return -tf.reduce_mean(tf.nn.softplus(-joint), axis=axis) - tf.reduce_mean(
        tf.nn.softplus(marginal), axis=axis
    )


def smile_objective(joint, marginal, clip=5.0, axis=None):
    """Training objective of SMILE: the value of the clipped DV bound, the gradient of JS (so the
    gradient does not depend on ``clip``; only the reported value does)."""
    joint, marginal, clip = _tensor(joint, "joint"), _tensor(marginal, "marginal"), _clip(clip)
    js = js_fgan(joint, marginal, axis)
    return js + tf.stop_gradient(smile(joint, marginal, clip, axis) - js)


def mine_surrogate(joint, marginal, log_average, rate=0.01, axis=None):
    """MINE's bias-corrected training surrogate (Belghazi et al. 2018, section 3.2).

    The minibatch gradient of log E_Q[e^T] is biased; MINE divides the gradient of E_Q[e^T] by a
    moving average of E_Q[e^T] instead of by the minibatch mean. ``log_average`` is the log of that
    moving average (NaN before the first step: it then starts at the first batch's value, so the
    first step equals the plain DV step rather than a huge one). The current batch enters the average
    with weight ``rate`` before it is used, so ``rate = 1`` gives the plain DV gradient exactly.
    Returns ``(surrogate, new_log_average)``;
    the surrogate's gradient is the corrected one, its value is not a bound (report ``dv``).
    ``axis=-1``: one surrogate and one average per row (stacked tasks).
    """
    joint, marginal = _tensor(joint, "joint"), _tensor(marginal, "marginal")
    if not isinstance(rate, (tf.Tensor, tf.Variable)):
        rate = fraction("rate", rate, include_high=True)
    log_average, rate = tf.cast(log_average, marginal.dtype), tf.cast(rate, marginal.dtype)
    batch = tf.stop_gradient(logmeanexp(marginal, axis=axis))
    updated = tf.where(
        tf.math.is_nan(log_average),
        batch,
        tf.reduce_logsumexp(
            tf.stack([tf.math.log1p(-rate) + log_average, tf.math.log(rate) + batch]), axis=0
        ),
    )
    surrogate = tf.reduce_mean(joint, axis=axis) - tf.exp(logmeanexp(marginal, axis=axis) - updated)
    return surrogate, updated


def split_scores(scores):
    """Split a (b, b) score matrix into its joint diagonal and its b(b-1) off-diagonal marginal scores."""
    scores = _matrix(scores)
    size = tf.shape(scores)[0]
    off_diagonal = tf.logical_not(tf.eye(size, dtype=tf.bool))
    return tf.linalg.diag_part(scores), tf.boolean_mask(scores, off_diagonal)
