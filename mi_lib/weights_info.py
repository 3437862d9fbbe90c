"""Information in weights (IIW): how much a trained network's weights know about its training set.

Wang et al. (2022, PAC-Bayes information bottleneck) measure I(w; S), the mutual information between
the weights w and the training set S of n samples drawn from a fixed distribution, because it bounds
the expected generalisation gap (Xu & Raginsky, 2017): E[L(w) - L_S(w)] <= sqrt(2 sigma^2 I(w; S) / n).

What is estimated. Training maps S (and randomness U independent of S: initial weights, minibatch
order) to trained weights theta_S. The estimator reads w as a Gaussian channel: a weight vector
w = theta_S + e, e ~ N(0, (n F)^-1), the Laplace posterior around the trained weights (F: the Fisher
information of the per-sample negative log-likelihood, estimated from per-sample gradients), and
theta_S varies over training sets with covariance C, modelled per layer as c I. Then

    I(w; S | U) = 1/2 log det(I + n c F) = 1/2 sum_j log(1 + mu_j),  mu_j eigenvalues of n c F,

(``layers``, summed in ``total``); within this Gaussian model it bounds I(w; S) from above (U is
independent of S), and it is only as good as the model: with one variance c per layer it overstates
the information where the curvature is uneven across directions (chapter 8 measures this). The variance c
over training sets is what makes the estimate an information: it is fitted by
:func:`prior_from_heldout` from the same network trained on a held-out set S' of the same size with
the same U (same initial weights, same minibatch order, as many steps): c = mean((theta_S -
theta_S')^2) / 2 over the layer's weights. Weights that do not depend on S (at initialisation, or a
training that ignores its data) give theta_S = theta_S', c = 0 and an IIW of 0, however sharp the
loss is there. In Bayesian linear regression, whose posterior is exact, this is checked against
I(w; S) computed by Monte Carlo over training sets (tests/test_weights_info.py).

The non-zero mu_j come from the (m, m) Gram matrix of m per-sample gradients whatever the number of
weights, so at most m directions count: keep m = ``fisher_samples`` fixed when comparing runs. F is
the *empirical* Fisher (gradients at the observed labels), which differs from the Fisher information
where the model is far from the data (Kunstner et al., 2019): it vanishes when a network predicts
every training label with certainty.

``fisher_distance``: the paper's final formula, n/2 (theta_S - theta_0)^T F (theta_S - theta_0) with
theta_0 the prior mean (here theta_S'): the Gaussian divergence between two posteriors of the same
covariance (n F)^-1. With theta_S - theta_S' of covariance 2 C it has mean n tr(F C), twice the
small-signal limit of the log-det form, and it keeps growing where the log-det saturates.

:func:`sample_gibbs_posterior` samples the minimiser of the PAC-Bayes objective
E_q L_S + (beta / n) KL(q || p), the Gibbs posterior q(w) ~ p(w) exp(-n L_S(w) / beta), by
stochastic-gradient Langevin dynamics with a decaying step (Welling & Teh, 2011).
"""

import weakref
from dataclasses import dataclass

import numpy as np

from mi_lib._checks import as_samples, choice, positive_int, positive_number

LOSSES = ("crossentropy", "gaussian")


@dataclass(frozen=True)
class GaussianPrior:
    """N(mean, variance I) over the weights, one variance per layer with weights.

    mean: one array per trainable variable of the model, in ``model.trainable_variables`` order.
    variance: one positive number per layer with trainable weights, in ``model.layers`` order. For
    :func:`information_in_weights` it is the variance of the trained weights over training sets
    (:func:`prior_from_heldout`); for :func:`sample_gibbs_posterior`, the prior of the posterior.
    """

    mean: tuple
    variance: tuple


def _check_model(model):
    if not (getattr(model, "built", False) and getattr(model, "trainable_variables", None)):
        raise ValueError(f"model must be a built Keras model with trainable weights, got {model!r}")


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


@dataclass(frozen=True)
class WeightsInformation:
    """An IIW estimate in nats (module docstring): ``layers`` and ``fisher_distance`` have one entry
    per layer with weights, named in ``layer_names``; ``total`` = sum(layers)."""

    total: float
    layers: tuple
    fisher_distance: tuple
    layer_names: tuple
    n: int  # training-set size
    fisher_samples: int  # per-sample gradients behind the Fisher information


def _layer_blocks(model):
    """(layer name, indices into model.trainable_variables) for every layer with weights."""
    ids = {id(v): i for i, v in enumerate(model.trainable_variables)}
    blocks = []
    for layer in model.layers:
        indices = [ids[id(v)] for v in layer.trainable_variables if id(v) in ids]
        if indices:
            blocks.append((layer.name, indices))
    return blocks


def prior_from_heldout(model, heldout_weights, floor=1e-12):
    """The prior of :func:`information_in_weights` for ``model`` as trained on S: mean =
    ``heldout_weights``, the same network trained on a held-out set S' of the same size with the
    same initial weights, minibatch order and number of steps; variance per layer = the variance of
    the trained weights over training sets, mean((theta_S - theta_S')^2) / 2 over the layer's
    weights (at least ``floor``). ``heldout_weights`` is a list of arrays in
    ``model.trainable_variables`` order, as ``[v.numpy() for v in other.trainable_variables]``."""
    _check_model(model)
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    positive_number("floor", floor)
    try:
        heldout = [np.asarray(w, dtype=np.float64) for w in heldout_weights]
    except (TypeError, ValueError) as error:
        raise ValueError(f"heldout_weights must be a list of numeric arrays: {error}") from None
    if [a.shape for a in heldout] != shapes:
        found = [a.shape for a in heldout]
        raise ValueError(f"heldout_weights has arrays of shapes {found}, the model's variables {shapes}")
    if not all(np.all(np.isfinite(a)) for a in heldout):
        raise ValueError("heldout_weights contains NaN or inf")
    trained = [v.numpy().astype(np.float64) for v in model.trainable_variables]
    variances = []
    for _, indices in _layer_blocks(model):
        moved = np.concatenate([(trained[i] - heldout[i]).ravel() for i in indices])
        variances.append(max(float(np.mean(moved**2)) / 2.0, floor))
    return GaussianPrior(tuple(heldout), tuple(variances))


def _check_prior(prior, model, blocks):
    if not isinstance(prior, GaussianPrior):
        raise ValueError(f"prior must be a GaussianPrior, got {type(prior).__name__}")
    variables = model.trainable_variables
    if len(prior.mean) != len(variables):
        raise ValueError(
            f"prior.mean has {len(prior.mean)} arrays but the model has {len(variables)} trainable variables"
        )
    for i, (mean, v) in enumerate(zip(prior.mean, variables, strict=True)):
        if tuple(np.shape(mean)) != tuple(v.shape):
            raise ValueError(
                f"prior.mean[{i}] has shape {np.shape(mean)}, the model's {v.name} {tuple(v.shape)}"
            )
        mean = np.asarray(mean)
        if not np.issubdtype(mean.dtype, np.number) or not np.all(np.isfinite(mean)):
            raise ValueError(f"prior.mean[{i}] must hold finite numbers")
    if len(prior.variance) != len(blocks):
        raise ValueError(
            f"prior.variance has {len(prior.variance)} entries but the model has "
            f"{len(blocks)} layers with weights"
        )
    for i, s2 in enumerate(prior.variance):
        positive_number(f"prior.variance[{i}]", s2)


def _check_data(model, x, y, loss):
    x = np.asarray(x)
    y = np.asarray(y)
    if x.ndim == 0 or len(x) == 0:
        raise ValueError(f"x has no samples (shape {x.shape})")
    if not np.issubdtype(x.dtype, np.number) or not np.all(np.isfinite(x)):
        raise ValueError("x must be finite numbers")
    expected = tuple(model.input_shape[1:])
    if tuple(x.shape[1:]) != expected:
        raise ValueError(f"x has samples of shape {x.shape[1:]} but the model expects {expected}")
    if y.ndim == 0 or len(y) != len(x):
        raise ValueError(f"x has {len(x)} samples but y has {len(y) if y.ndim else 'none (a scalar)'}")
    outputs = tuple(model.output_shape[1:])
    if loss == "crossentropy":
        if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(
                f"y must be integer class labels (n,) for loss='crossentropy', got {y.dtype} {y.shape}"
            )
        if len(outputs) != 1 or y.min() < 0 or y.max() >= outputs[0]:
            classes = outputs[0] if outputs else 0
            raise ValueError(f"y must be labels in [0, {classes}) to match the model's logits {outputs}")
    else:
        y = as_samples("y", y)
        if tuple(y.shape[1:]) != outputs:
            raise ValueError(f"y has targets of shape {y.shape[1:]} but the model outputs {outputs}")
    return x.astype(np.float32), y


_JACOBIANS = weakref.WeakKeyDictionary()  # model -> {loss: traced function}: one trace per model


def _jacobian_function(model, loss):
    import tensorflow as tf

    functions = _JACOBIANS.setdefault(model, {})
    if loss not in functions:
        model_ref = weakref.ref(model)  # a strong reference in the value would keep the key alive

        @tf.function(reduce_retracing=True)
        def jacobian(xb, yb, noise_variance):
            model = model_ref()
            with tf.GradientTape() as tape:
                out = model(xb, training=False)
                if loss == "crossentropy":
                    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=out)
                else:
                    residual = tf.reshape(yb - out, (tf.shape(out)[0], -1))
                    nll = tf.reduce_sum(residual**2, axis=1) / (2.0 * noise_variance)
            return tape.jacobian(nll, model.trainable_variables)

        functions[loss] = jacobian
    return functions[loss]


def per_sample_gradients(model, x, y, loss="crossentropy", noise_variance=1.0, chunk=128):
    """Gradients of every sample's negative log-likelihood with respect to every trainable variable:
    a list, one (n, variable size) float32 array per variable. ``crossentropy``: the model outputs
    logits and ``y`` holds integer labels; ``gaussian``: y = model(x) + N(0, noise_variance).
    ``chunk`` samples are differentiated at a time."""
    choice("loss", loss, LOSSES)
    positive_number("noise_variance", noise_variance)
    chunk = positive_int("chunk", chunk)
    _check_model(model)
    x, y = _check_data(model, x, y, loss)
    return _per_sample_gradients(model, x, y, loss, noise_variance, chunk)


def _per_sample_gradients(model, x, y, loss, noise_variance, chunk=128):
    import tensorflow as tf

    jacobian = _jacobian_function(model, loss)
    parts = [[] for _ in model.trainable_variables]
    for start in range(0, len(x), chunk):
        yb = y[start : start + chunk]
        yb = tf.constant(yb, tf.int32) if loss == "crossentropy" else tf.constant(yb, tf.float32)
        grads = jacobian(tf.constant(x[start : start + chunk]), yb, tf.constant(noise_variance, tf.float32))
        for part, grad in zip(parts, grads, strict=True):
            part.append(tf.reshape(grad, (grad.shape[0], -1)).numpy())
    return [np.concatenate(part) for part in parts]


def _dense_stack(model):
    """The Dense layers of a Sequential model made of Dense layers (and layers that are the identity
    at inference: Dropout, Identity), else None."""
    import keras

    if not isinstance(model, keras.Sequential):
        return None
    dense = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense) and not getattr(layer, "lora_enabled", False):
            dense.append(layer)
        elif not isinstance(layer, (keras.layers.Dropout, keras.layers.Identity)):
            return None
    return dense


def _nll(out, yb, loss, noise_variance):
    import tensorflow as tf

    if loss == "crossentropy":
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yb, logits=out)
    residual = tf.reshape(tf.cast(yb, out.dtype) - out, (tf.shape(out)[0], -1))
    return tf.reduce_sum(residual**2, axis=1) / (2.0 * noise_variance)


def _dense_grams(model, dense, x, y, loss, noise_variance, moved):
    """Per layer: the Gram matrix G G^T of the per-sample gradients (or G itself, when the layer has
    fewer weights than samples) and G @ moved, without forming G. A Dense layer's per-sample kernel
    gradient is a_i delta_i^T (a_i its input, delta_i the gradient with respect to its
    pre-activation), so G G^T = (A A^T) * (D D^T) (+ D D^T, the bias)."""
    import tensorflow as tf

    yb = tf.constant(y, tf.int32) if loss == "crossentropy" else tf.constant(y, tf.float32)
    inputs, pre = [], []
    with tf.GradientTape() as tape:
        a = tf.constant(x)
        for layer in dense:
            z = tf.matmul(a, layer.kernel)
            if layer.use_bias:
                z = z + layer.bias
            tape.watch(z)
            inputs.append(a)
            pre.append(z)
            a = layer.activation(z)
        nll = tf.reduce_sum(_nll(a, yb, loss, noise_variance))
    deltas = tape.gradient(nll, pre)
    grams, projections = [], []
    for layer, a, d, delta in zip(dense, inputs, moved, deltas, strict=True):
        a, delta = a.numpy().astype(np.float64), delta.numpy().astype(np.float64)
        if (a.shape[1] + layer.use_bias) * delta.shape[1] < len(a):  # fewer weights than samples: G itself
            g = (a[:, :, None] * delta[:, None, :]).reshape(len(a), -1)
            grams.append(np.concatenate([g, delta], axis=1) if layer.use_bias else g)
        else:
            dd = delta @ delta.T
            grams.append((a @ a.T) * dd + (dd if layer.use_bias else 0.0))
        kernel_moved = d[0].reshape(a.shape[1], delta.shape[1])
        projection = np.sum((a @ kernel_moved) * delta, axis=1)
        if layer.use_bias:
            projection += delta @ d[1].ravel()
        projections.append(projection)
    return grams, projections


def _checked_training_inputs(model, x, y, loss, prior, seed):
    """The checks shared by the estimator and the sampler: (seed, x, y, the model's layer blocks)."""
    seed = _check_seed(seed)
    _check_model(model)
    x, y = _check_data(model, x, y, loss)
    blocks = _layer_blocks(model)
    _check_prior(prior, model, blocks)
    return seed, x, y, blocks


def information_in_weights(
    model, x, y, prior, loss="crossentropy", noise_variance=1.0, fisher_samples=256, seed=0
):
    """IIW of the model's current weights, trained on (x, y), with ``prior`` from
    :func:`prior_from_heldout` (its variance: that of the trained weights over training sets;
    module docstring).

    x, y: the whole training set (its size n scales the Fisher information); the Fisher information
    comes from ``fisher_samples`` of its samples drawn at random with ``seed`` (all of them when n is
    smaller). ``loss``: ``crossentropy`` (logits, integer labels) or ``gaussian`` (regression with
    noise of variance ``noise_variance``). Returns a :class:`WeightsInformation`.
    """
    choice("loss", loss, LOSSES)
    positive_number("noise_variance", noise_variance)
    fisher_samples = positive_int("fisher_samples", fisher_samples)
    seed, x, y, blocks = _checked_training_inputs(model, x, y, loss, prior, seed)

    n = len(x)
    rows = np.random.default_rng(seed).permutation(n)[: min(fisher_samples, n)]
    m = len(rows)
    weights = [v.numpy().astype(np.float64) for v in model.trainable_variables]
    moved = [[weights[i] - np.asarray(prior.mean[i], np.float64) for i in indices] for _, indices in blocks]
    dense = _dense_stack(model)
    if dense is not None and len(dense) == len(blocks):
        grams, projections = _dense_grams(model, dense, x[rows], y[rows], loss, noise_variance, moved)
    else:
        grads = _per_sample_gradients(model, x[rows], y[rows], loss, noise_variance)
        grams, projections = [], []
        for (_, indices), d in zip(blocks, moved, strict=True):
            g = np.concatenate([grads[i] for i in indices], axis=1).astype(np.float64)
            grams.append(g if g.shape[1] < m else g @ g.T)
            projections.append(g @ np.concatenate([part.ravel() for part in d]))

    layers, distances = [], []
    for gram, projection, c in zip(grams, projections, prior.variance, strict=True):
        # The non-zero eigenvalues of n c F, F = G^T G / m, are those of the (m, m) n c G G^T / m,
        # or of the smaller (p, p) n c G^T G / m when ``gram`` holds G itself (p < m columns).
        square = gram.T @ gram if gram.shape[1] != m else gram
        mu = np.clip(np.linalg.eigvalsh((n * c / m) * square), 0.0, None)
        layers.append(0.5 * float(np.sum(np.log1p(mu))))
        distances.append(0.5 * n * float(np.mean(projection**2)))  # n/2 moved^T F moved
    return WeightsInformation(
        total=float(sum(layers)),
        layers=tuple(layers),
        fisher_distance=tuple(distances),
        layer_names=tuple(name for name, _ in blocks),
        n=n,
        fisher_samples=m,
    )


def sample_gibbs_posterior(
    model,
    x,
    y,
    prior,
    beta=1.0,
    steps=1000,
    batch=128,
    step_size=1e-4,
    final_step_size=None,
    loss="crossentropy",
    noise_variance=1.0,
    record_every=0,
    burn_in=0,
    seed=0,
):
    """Stochastic-gradient Langevin dynamics (Welling & Teh, 2011) on the Gibbs posterior
    q(w) ~ p(w) exp(-n L_S(w) / beta), the minimiser of E_q L_S + (beta / n) KL(q || p): L_S is the
    mean negative log-likelihood over the n samples of (x, y) (``loss`` as in
    :func:`information_in_weights`), p = N(prior.mean, prior.variance per layer); beta = 1 is the
    Bayesian posterior. Each step, on a minibatch of ``batch`` samples,

        w <- w - eps_t / 2 * grad U(w) + N(0, eps_t),  U = (n / beta) L_batch - log p,

    with eps_t decaying as (1 + t / tau)^-0.55 from ``step_size`` to ``final_step_size`` (constant
    when that is None). Starts from the model's current weights and leaves the last sample in the
    model. Returns an array (k, number of weights): the flattened weights after every
    ``record_every``-th step from step ``burn_in`` on (k = 0 when record_every = 0). The steps
    run in graphs of ``record_every`` (or 200) steps."""
    import tensorflow as tf

    choice("loss", loss, LOSSES)
    positive_number("noise_variance", noise_variance)
    positive_number("beta", beta)
    steps = positive_int("steps", steps)
    batch = positive_int("batch", batch)
    positive_number("step_size", step_size)
    final = step_size if final_step_size is None else positive_number("final_step_size", final_step_size)
    if isinstance(record_every, bool) or not isinstance(record_every, (int, np.integer)) or record_every < 0:
        raise ValueError(f"record_every must be a non-negative integer, got {record_every!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) or not 0 <= burn_in < steps:
        raise ValueError(f"burn_in must be an integer in [0, steps={steps}), got {burn_in!r}")
    seed, x, y, blocks = _checked_training_inputs(model, x, y, loss, prior, seed)

    n = len(x)
    variables = model.trainable_variables
    precision = [0.0] * len(variables)
    for (_, indices), s2 in zip(blocks, prior.variance, strict=True):
        for i in indices:
            precision[i] = 1.0 / s2
    means = [tf.constant(np.asarray(mu), v.dtype) for mu, v in zip(prior.mean, variables, strict=True)]
    scale = n / beta
    noise = tf.random.Generator.from_seed(seed)
    inputs = tf.constant(x)
    targets = tf.constant(y, tf.int32 if loss == "crossentropy" else tf.float32)

    # An explicit while-loop and AutoGraph off, as in the estimator's training loop (_training._loop).
    @tf.function(reduce_retracing=True, autograph=False)
    def run(rows, eps):  # len(eps) Langevin steps in one graph: rows (steps, batch), eps (steps,)
        def step(t):
            with tf.GradientTape() as tape:
                out = model(tf.gather(inputs, rows[t]), training=False)
                energy = scale * tf.reduce_mean(_nll(out, tf.gather(targets, rows[t]), loss, noise_variance))
                for v, mu, p in zip(variables, means, precision, strict=True):
                    energy += 0.5 * p * tf.reduce_sum((v - mu) ** 2)
            updates = [
                v.assign_add(-0.5 * eps[t] * g + tf.sqrt(eps[t]) * noise.normal(v.shape, dtype=v.dtype))
                for v, g in zip(variables, tape.gradient(energy, variables), strict=True)
            ]
            with tf.control_dependencies(updates):
                return t + 1

        tf.while_loop(lambda t: t < tf.shape(eps)[0], step, [tf.constant(0)])

    gamma = 0.55
    tau = steps / ((step_size / final) ** (1 / gamma) - 1) if final < step_size else np.inf
    eps = (step_size * (1.0 + np.arange(steps) / tau) ** -gamma).astype(np.float32)
    rng = np.random.default_rng(seed)
    epochs = -(-steps * batch // n) + 1
    order = np.concatenate([rng.permutation(n) for _ in range(epochs)])
    rows = order[: steps * batch].reshape(steps, batch) if batch <= n else rng.integers(0, n, (steps, batch))
    chunk = record_every or 200
    samples = []
    for start in range(0, steps, chunk):
        stop = min(start + chunk, steps)
        run(tf.constant(rows[start:stop], tf.int32), tf.constant(eps[start:stop]))
        if record_every and stop - 1 >= burn_in:
            samples.append(np.concatenate([v.numpy().ravel() for v in variables]))
    size = sum(int(np.prod(v.shape)) for v in variables)
    return np.array(samples).reshape(len(samples), size)


def generalisation_bound(information, n, sigma=1.0):
    """Xu & Raginsky's bound on the expected generalisation gap, sqrt(2 sigma^2 I(w; S) / n), for a
    loss that is sigma-sub-Gaussian (sigma = 1/2 for a loss in [0, 1], such as the 0-1 error)."""
    try:
        information = np.asarray(information, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"information must be numbers (nats), got {information!r}") from None
    if information.size == 0 or np.any(~np.isfinite(information)) or np.any(information < 0):
        raise ValueError("information must be finite and non-negative (nats)")
    n = positive_int("n", n)
    positive_number("sigma", sigma)
    return np.sqrt(2.0 * sigma**2 * information / n)
