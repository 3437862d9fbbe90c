"""Information in weights (IIW): how much a trained network's weights know about its training set.

Wang et al. (2022, PAC-Bayes information bottleneck) measure I(w; S), the mutual information between
the weights w and the training set S of n samples, because it bounds the expected generalisation gap
(Xu & Raginsky, 2017): E[L(w) - L_S(w)] <= sqrt(2 sigma^2 I(w; S) / n). Their approximation makes
the prior and the posterior over the weights Gaussian:

- the posterior is Laplace's, centred on the trained weights theta_S, with precision
  n F + Sigma_0^-1, where F is the empirical Fisher information of the per-sample negative
  log-likelihood, from per-sample gradients on (a random subset of) the training set;
- the prior is N(theta_0, s^2 I), fitted on held-out data: theta_0 is the same network trained from
  the same initial weights on a held-out set, s^2 (one per layer) the mean squared distance that
  this training moved the weights (:func:`prior_from_heldout`).

Two numbers come out, per layer (a block-diagonal Fisher: the layers are independent blocks):

``layers`` (summed in ``total``), the IIW of the course: I(w; S) = h(w) - E_S h(w | S), the entropy
    of the prior less that of the posterior, 1/2 log det(I + n s^2 F) = 1/2 sum_j log(1 + mu_j),
    mu_j the non-zero eigenvalues of n s^2 F. They come from the (m, m) Gram matrix of m per-sample
    gradients however many weights a layer has, so at most m directions count: keep m fixed when
    comparing runs. In Bayesian linear regression, where the Gaussian posterior is exact, this is
    the closed form of :func:`mi_lib.truth.linear_regression_weights_mi` up to the difference
    between the empirical and the true Fisher information (checked in the tests).
``fisher_distance``: the paper's own final formula, n/2 (theta_S - theta_0)^T F (theta_S - theta_0),
    the divergence between two Gaussians of the same covariance (n F)^-1 centred on the trained
    and on the prior weights. It depends on where training went, not only on how sharply the data
    pin the weights down; it is not exact even in linear regression (chapter 8 measures by how much).

Every step is an approximation in a network, which is why the course reads IIW as the paper does:
as a curve to compare across training and across runs, not as a calibrated number of nats.
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
    variance: one positive number per layer with trainable weights, in ``model.layers`` order.
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


def prior_from_heldout(model, initial_weights, heldout_weights, floor=1e-8):
    """The data-fitted prior of the paper for ``model``: mean = ``heldout_weights`` (the network
    trained on held-out data from ``initial_weights``), variance per layer = the mean squared
    distance that training moved the layer's weights (at least ``floor``). Both are lists of arrays
    in ``model.trainable_variables`` order, as ``[v.numpy() for v in model.trainable_variables]``."""
    _check_model(model)
    shapes = [tuple(v.shape) for v in model.trainable_variables]
    positive_number("floor", floor)
    arrays = {}
    for name, given in (("initial_weights", initial_weights), ("heldout_weights", heldout_weights)):
        try:
            arrays[name] = [np.asarray(w, dtype=np.float64) for w in given]
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} must be a list of numeric arrays: {error}") from None
        if [a.shape for a in arrays[name]] != shapes:
            found = [a.shape for a in arrays[name]]
            raise ValueError(f"{name} has arrays of shapes {found}, the model's variables {shapes}")
        if not all(np.all(np.isfinite(a)) for a in arrays[name]):
            raise ValueError(f"{name} contains NaN or inf")
    initial, heldout = arrays["initial_weights"], arrays["heldout_weights"]
    variances = []
    for _, indices in _layer_blocks(model):
        moved = np.concatenate([(heldout[i] - initial[i]).ravel() for i in indices])
        variances.append(max(float(np.mean(moved**2)), floor))
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


def information_in_weights(
    model, x, y, prior, loss="crossentropy", noise_variance=1.0, fisher_samples=256, seed=0
):
    """IIW of the model's current weights, trained on (x, y), relative to ``prior`` (module docstring).

    x, y: the whole training set (its size n scales the Fisher information); the Fisher information
    comes from ``fisher_samples`` of its samples drawn at random with ``seed`` (all of them when n is
    smaller). ``loss``: ``crossentropy`` (logits, integer labels) or ``gaussian`` (regression with
    noise of variance ``noise_variance``). Returns a :class:`WeightsInformation`.
    """
    choice("loss", loss, LOSSES)
    positive_number("noise_variance", noise_variance)
    fisher_samples = positive_int("fisher_samples", fisher_samples)
    seed = _check_seed(seed)
    _check_model(model)
    x, y = _check_data(model, x, y, loss)
    blocks = _layer_blocks(model)
    _check_prior(prior, model, blocks)

    n = len(x)
    rows = np.random.default_rng(seed).permutation(n)[: min(fisher_samples, n)]
    grads = _per_sample_gradients(model, x[rows], y[rows], loss, noise_variance)
    m = len(rows)
    weights = [v.numpy().astype(np.float64) for v in model.trainable_variables]

    layers, distances = [], []
    for (_, indices), s2 in zip(blocks, prior.variance, strict=True):
        g = np.concatenate([grads[i] for i in indices], axis=1).astype(np.float64)
        # The non-zero eigenvalues of n s^2 F, F = G^T G / m, are those of the (m, m) n s^2 G G^T / m.
        mu = np.clip(np.linalg.eigvalsh((n * s2 / m) * (g @ g.T)), 0.0, None)
        layers.append(0.5 * float(np.sum(np.log1p(mu))))
        moved = np.concatenate([(weights[i] - np.asarray(prior.mean[i])).ravel() for i in indices])
        distances.append(0.5 * n * float(np.mean((g @ moved) ** 2)))  # n/2 moved^T F moved
    return WeightsInformation(
        total=float(sum(layers)),
        layers=tuple(layers),
        fisher_distance=tuple(distances),
        layer_names=tuple(name for name, _ in blocks),
        n=n,
        fisher_samples=m,
    )


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
