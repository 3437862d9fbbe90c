"""Critic networks T(x, y) for the variational bounds.

Every critic offers two views of its scores:
``pairs(x, y)`` scores the row-wise pairs (x_i, y_i), shape (b,);
``matrix(x, y)`` scores every combination (x_i, y_j), shape (b, b).
A concatenated critic (MINE's statistics network) is cheap on pairs and costs b^2 evaluations for a
matrix; a separable critic g(x)^T h(y) gets the whole matrix from one matrix product.
"""

import keras
import numpy as np
import tensorflow as tf

from mi_lib._checks import choice, positive_int, positive_number, widths
from mi_lib._checks import seed as check_seed


def check_activation(activation):
    """``activation`` if Keras knows it (a name or a callable), else a ValueError naming it."""
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError) as error:
        raise ValueError(f"activation must name a Keras activation, got {activation!r}") from error
    return activation


def mlp(hidden, outputs, activation="relu", seed=None, name=None):
    """A multilayer perceptron: Dense layers of sizes ``hidden``, then a linear layer of ``outputs``."""
    hidden, outputs = widths("hidden", hidden), positive_int("outputs", outputs)
    activation = check_activation(activation)
    seed = check_seed("seed", seed, high=2**32)  # keras seeds take 32 bits
    seeds = keras.random.SeedGenerator(seed) if seed is not None else None

    def init():
        return keras.initializers.GlorotUniform(seed=seeds)

    layers = [keras.layers.Dense(h, activation=activation, kernel_initializer=init()) for h in hidden]
    layers.append(keras.layers.Dense(outputs, kernel_initializer=init()))
    return keras.Sequential(layers, name=name)


class PairCritic(keras.Model):
    """A critic that scores one pair per evaluation of its network (``call((x, y))``): a score matrix
    costs b^2 evaluations, every x repeated against every y."""

    cheap_matrix = False  # a score matrix costs b^2 network evaluations

    def pairs(self, x, y):
        return self((x, y))

    def matrix(self, x, y):
        b = tf.shape(x)[0]
        xx = tf.repeat(x, b, axis=0)  # x_0 x_0 ... x_1 x_1 ...
        yy = tf.tile(y, [b, 1])  # y_0 y_1 ... y_0 y_1 ...
        return tf.reshape(self((xx, yy)), [b, b])


class ConcatCritic(PairCritic):
    """T(x, y) = MLP([x, y]): the statistics network of MINE."""

    def __init__(self, hidden=(256, 256), activation="relu", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.net = mlp(hidden, 1, activation, seed, name="statistics_network")

    def call(self, inputs):
        x, y = inputs
        return tf.squeeze(self.net(tf.concat([x, y], axis=-1)), axis=-1)


class SeparableCritic(keras.Model):
    """T(x, y) = g(x)^T h(y) with two MLP embeddings of size ``embedding``."""

    cheap_matrix = True  # one matrix product scores all b^2 pairs

    def __init__(self, hidden=(256, 256), embedding=32, activation="relu", seed=None, **kwargs):
        super().__init__(**kwargs)
        embedding, seed = positive_int("embedding", embedding), check_seed("seed", seed, high=2**32)
        # two independent child seeds, so that critics of consecutive seeds share no initial network
        seed_g, seed_h = (None, None) if seed is None else np.random.SeedSequence(seed).generate_state(2)
        self.g = mlp(hidden, embedding, activation, None if seed is None else int(seed_g), name="embed_x")
        self.h = mlp(hidden, embedding, activation, None if seed is None else int(seed_h), name="embed_y")

    def call(self, inputs):
        x, y = inputs
        return tf.reduce_sum(self.g(x) * self.h(y), axis=-1)

    def pairs(self, x, y):
        return self((x, y))

    def matrix(self, x, y):
        return tf.matmul(self.g(x), self.h(y), transpose_b=True)


class ArchitectureAwareCritic(PairCritic):
    """AA-MINE's critic for I(X; T + eps), T = layer(X) (Elad et al. 2019): it starts with a frozen
    copy of the layers X -> T, so instead of learning to recompute T from X it compares T(X) with
    the noisy representation y = T' + eps directly.

    mode ``difference`` feeds the MLP [T(X), (y - T(X)) / sigma] (the noise itself for joint pairs,
    a large displacement for marginal ones); mode ``pair`` feeds [T(X), y]. Inputs are put on a unit
    scale with the mean and spread of y, which the critic is given (``y_mean``, ``y_std``).
    """

    def __init__(
        self,
        layer,
        sigma,
        y_mean,
        y_std,
        mode="difference",
        hidden=(256, 256),
        activation="relu",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not callable(layer):
            raise ValueError(f"layer must be a Keras model or callable, got {layer!r}")
        y_mean, y_std = np.asarray(y_mean, np.float64), np.asarray(y_std, np.float64)
        if not np.all(np.isfinite(y_mean)):
            raise ValueError("y_mean must be finite")
        if not (np.all(np.isfinite(y_std)) and np.all(y_std > 0)):
            raise ValueError(f"y_std must be positive and finite, got {y_std}")
        self.layer = layer
        if hasattr(self.layer, "trainable"):
            self.layer.trainable = False  # a copy of the studied network: never trained by the critic
        self.mode = choice("mode", mode, ("difference", "pair"))
        self.sigma = positive_number("sigma", sigma)
        self.y_mean = tf.constant(np.asarray(y_mean, np.float32))
        self.y_std = tf.constant(np.asarray(y_std, np.float32))
        self.net = mlp(hidden, 1, activation, seed, name="statistics_network")

    def call(self, inputs):
        x, y = inputs
        t = tf.stop_gradient(tf.cast(self.layer(x), tf.float32))
        first = (t - self.y_mean) / self.y_std
        if self.mode == "pair":
            features = [first, (y - self.y_mean) / self.y_std]
        else:
            noise = (y - t) / self.sigma
            features = [first, noise]
        return tf.squeeze(self.net(tf.concat(features, axis=-1)), axis=-1)


class GaussianResidualCritic(PairCritic):
    """T(x, y) = log-density ratio of a Gaussian fitted to [x, y] + MLP([x, y]).

    ``adapt(x, y)`` fits the Gaussian to training samples through canonical correlation analysis:
    X and Y are whitened, the singular values of their cross-correlation are the canonical
    correlations r_i, and log N(x, y) - log N(x) - log N(y) is a sum over the canonical pairs. A
    canonical correlation below the edge of what independent samples produce (Wachter's edge,
    about sqrt(dx / n) + sqrt(dy / n)) cannot be told from noise and is set to 0: without this, in
    50 + 50 dimensions at n = 3,000 the noise in the fitted precision matrix costs a third of the
    information on held-out pairs. After the copula transform the fitted Gaussian is the Gaussian
    copula, exact when the task is Gaussian after the marginal maps. The MLP starts at zero and
    learns only the residual; any function is a critic, so its DV value stays a lower bound.
    """

    MAX_CORRELATION = 0.9999  # a deterministic pair would give an infinite log ratio

    def __init__(self, hidden=(256, 256), activation="relu", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.net = mlp(hidden, 1, activation, seed, name="residual_network")
        self.net.layers[-1].kernel_initializer = keras.initializers.Zeros()

    def build(self, input_shape):
        dim = int(input_shape[0][-1]) + int(input_shape[1][-1])
        self.precision = self.add_weight(
            shape=(dim, dim), initializer="zeros", trainable=False, name="precision"
        )
        self.offset = self.add_weight(shape=(), initializer="zeros", trainable=False, name="offset")
        self.center = self.add_weight(shape=(dim,), initializer="zeros", trainable=False, name="center")
        self.net.build((None, dim))

    def adapt(self, x, y):
        """Fit the Gaussian log ratio to samples: T0 = offset - (z - center)^T precision (z - center) / 2."""
        x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
        n = len(x)
        whiten = []
        for side in (x, y):
            values, vectors = np.linalg.eigh(np.atleast_2d(np.cov(side, rowvar=False)))
            whiten.append(vectors / np.sqrt(np.maximum(values, 1e-12)))  # columns: whitened axes
        x_c, y_c = x - x.mean(axis=0), y - y.mean(axis=0)
        cross = (x_c @ whiten[0]).T @ (y_c @ whiten[1]) / (n - 1)
        left, r, right_t = np.linalg.svd(cross, full_matrices=False)
        edge = np.sqrt(x.shape[1] / n) + np.sqrt(y.shape[1] / n)
        r = np.where(r > edge, np.minimum(r, self.MAX_CORRELATION), 0.0)
        a, b = (whiten[0] @ left).T, (whiten[1] @ right_t.T).T  # canonical directions, rows
        d1, d2 = r**2 / (1 - r**2), r / (1 - r**2)
        precision = np.block(
            [
                [a.T @ (d1[:, None] * a), -a.T @ (d2[:, None] * b)],
                [-b.T @ (d2[:, None] * a), b.T @ (d1[:, None] * b)],
            ]
        )
        self.precision.assign(precision.astype(np.float32))
        self.offset.assign(np.float32(-0.5 * np.sum(np.log1p(-(r**2)))))
        self.center.assign(np.concatenate([x.mean(axis=0), y.mean(axis=0)]).astype(np.float32))

    def call(self, inputs):
        x, y = inputs
        z = tf.concat([x, y], axis=-1)
        c = z - self.center
        gaussian = self.offset - 0.5 * tf.reduce_sum(c * tf.matmul(c, self.precision), axis=-1)
        return gaussian + tf.squeeze(self.net(z), axis=-1)


CRITICS = {"concat": ConcatCritic, "separable": SeparableCritic, "gaussian-residual": GaussianResidualCritic}


def check_critic(critic):
    """``critic`` if it names a critic of CRITICS or has ``pairs`` and ``matrix``, else a ValueError."""
    if isinstance(critic, str):
        return choice("critic", critic, CRITICS)
    if not (hasattr(critic, "pairs") and hasattr(critic, "matrix")):
        raise ValueError(
            f"critic must be one of {sorted(CRITICS)} or a model with pairs() and matrix(), got {critic!r}"
        )
    return critic


def make_critic(critic, dim_x, dim_y, hidden=(256, 256), activation="relu", seed=None):
    """Build a critic by name (one of CRITICS) or accept a ready one; create its weights."""
    dim_x, dim_y = positive_int("dim_x", dim_x), positive_int("dim_y", dim_y)
    if isinstance(check_critic(critic), str):
        critic = CRITICS[critic](
            hidden=widths("hidden", hidden), activation=check_activation(activation), seed=seed
        )
    critic((tf.zeros([2, dim_x]), tf.zeros([2, dim_y])))  # build the weights before compiling
    return critic


class StackedConcatCritic(keras.layers.Layer):
    """K independent concatenated (or Gaussian-residual) critics evaluated as one network: each
    weight of the K critics is stacked along a leading task axis, so one batched matrix product
    serves all of them. Training it with an element-wise optimiser such as Adam is training the K
    critics independently."""

    def __init__(self, critics, **kwargs):
        super().__init__(**kwargs)
        critics = list(critics)
        kinds = (ConcatCritic, GaussianResidualCritic)
        if not critics or not all(isinstance(c, kinds) for c in critics):
            raise ValueError(
                f"critics must be a non-empty list of ConcatCritic or GaussianResidualCritic, got {critics!r}"
            )
        self.activation = critics[0].net.layers[0].activation
        self.tasks = len(critics)
        self.gaussian = isinstance(critics[0], GaussianResidualCritic)
        stacked = [np.stack(ws) for ws in zip(*(c.get_weights() for c in critics), strict=True)]
        frozen = 3 if self.gaussian else 0  # the fitted precision, offset and center are not trained
        self.stacked = [
            self.add_weight(
                shape=w.shape, initializer=keras.initializers.Constant(w), name=f"w{i}", trainable=i >= frozen
            )
            for i, w in enumerate(stacked)
        ]
        self.dense = self.stacked[frozen:]

    def pairs(self, x, y):
        """Scores of the row-wise pairs of each task: x (K, b, dx), y (K, b, dy) -> (K, b)."""
        z = h = tf.concat([x, y], axis=-1)
        layers = len(self.dense) // 2
        for i in range(layers):
            kernel, bias = self.dense[2 * i], self.dense[2 * i + 1]
            h = tf.matmul(h, kernel) + bias[:, None, :]
            if i < layers - 1:
                h = self.activation(h)
        scores = tf.squeeze(h, axis=-1)
        if self.gaussian:
            precision, offset, center = self.stacked[:3]
            c = z - center[:, None, :]
            scores += offset[:, None] - 0.5 * tf.reduce_sum(c * tf.matmul(c, precision), axis=-1)
        return scores

    def assign(self, critics):
        """Take the weights of K critics (one per task, in task order)."""
        for i, ws in enumerate(zip(*(c.get_weights() for c in critics), strict=True)):
            self.stacked[i].assign(np.stack(ws))
