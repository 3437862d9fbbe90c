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

from mi_lib._checks import choice, positive_int


def mlp(hidden, outputs, activation="relu", seed=None, name=None):
    """A multilayer perceptron: Dense layers of sizes ``hidden``, then a linear layer of ``outputs``."""
    seeds = keras.random.SeedGenerator(seed) if seed is not None else None

    def init():
        return keras.initializers.GlorotUniform(seed=seeds)

    layers = [keras.layers.Dense(h, activation=activation, kernel_initializer=init()) for h in hidden]
    layers.append(keras.layers.Dense(outputs, kernel_initializer=init()))
    return keras.Sequential(layers, name=name)


class ConcatCritic(keras.Model):
    """T(x, y) = MLP([x, y]): the statistics network of MINE."""

    cheap_matrix = False  # a score matrix costs b^2 network evaluations

    def __init__(self, hidden=(256, 256), activation="relu", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.net = mlp(hidden, 1, activation, seed, name="statistics_network")

    def call(self, inputs):
        x, y = inputs
        return tf.squeeze(self.net(tf.concat([x, y], axis=-1)), axis=-1)

    def pairs(self, x, y):
        return self((x, y))

    def matrix(self, x, y):
        b = tf.shape(x)[0]
        xx = tf.repeat(x, b, axis=0)  # x_0 x_0 ... x_1 x_1 ...
        yy = tf.tile(y, [b, 1])  # y_0 y_1 ... y_0 y_1 ...
        return tf.reshape(self((xx, yy)), [b, b])


class SeparableCritic(keras.Model):
    """T(x, y) = g(x)^T h(y) with two MLP embeddings of size ``embedding``."""

    cheap_matrix = True  # one matrix product scores all b^2 pairs

    def __init__(self, hidden=(256, 256), embedding=32, activation="relu", seed=None, **kwargs):
        super().__init__(**kwargs)
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


class ArchitectureAwareCritic(keras.Model):
    """AA-MINE's critic for I(X; T + eps), T = layer(X) (Elad et al. 2019): it starts with a frozen
    copy of the layers X -> T, so instead of learning to recompute T from X it compares T(X) with
    the noisy representation y = T' + eps directly.

    mode ``difference`` feeds the MLP [T(X), (y - T(X)) / sigma] (the noise itself for joint pairs,
    a large displacement for marginal ones); mode ``pair`` feeds [T(X), y]. Inputs are put on a unit
    scale with the mean and spread of y, which the critic is given (``y_mean``, ``y_std``).
    """

    cheap_matrix = False

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
        self.layer = layer
        self.layer.trainable = False  # a copy of the studied network: never trained by the critic
        self.mode = choice("mode", mode, ("difference", "pair"))
        self.sigma = float(sigma)
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

    def pairs(self, x, y):
        return self((x, y))

    def matrix(self, x, y):
        b = tf.shape(x)[0]
        return tf.reshape(self((tf.repeat(x, b, axis=0), tf.tile(y, [b, 1]))), [b, b])


CRITICS = {"concat": ConcatCritic, "separable": SeparableCritic}


def make_critic(critic, dim_x, dim_y, hidden=(256, 256), activation="relu", seed=None):
    """Build a critic by name (``concat`` or ``separable``) or accept a ready one; create its weights."""
    if isinstance(critic, str):
        choice("critic", critic, CRITICS)
        hidden = tuple(positive_int("hidden", h) for h in hidden)
        critic = CRITICS[critic](hidden=hidden, activation=activation, seed=seed)
    elif not (hasattr(critic, "pairs") and hasattr(critic, "matrix")):
        raise ValueError(
            f"critic must be one of {sorted(CRITICS)} or a model with pairs() and matrix(), got {critic!r}"
        )
    critic((tf.zeros([2, dim_x]), tf.zeros([2, dim_y])))  # build the weights before compiling
    return critic


class StackedConcatCritic(keras.layers.Layer):
    """K independent concatenated critics evaluated as one network: each weight of the K critics is
    stacked along a leading task axis, so one batched matrix product serves all of them. Training
    it with an element-wise optimiser such as Adam is training the K critics independently."""

    def __init__(self, critics, **kwargs):
        super().__init__(**kwargs)
        self.activation = critics[0].net.layers[0].activation
        self.tasks = len(critics)
        stacked = [np.stack(ws) for ws in zip(*(c.get_weights() for c in critics), strict=True)]
        self.stacked = [
            self.add_weight(shape=w.shape, initializer=keras.initializers.Constant(w), name=f"w{i}")
            for i, w in enumerate(stacked)
        ]

    def pairs(self, x, y):
        """Scores of the row-wise pairs of each task: x (K, b, dx), y (K, b, dy) -> (K, b)."""
        h = tf.concat([x, y], axis=-1)
        layers = len(self.stacked) // 2
        for i in range(layers):
            kernel, bias = self.stacked[2 * i], self.stacked[2 * i + 1]
            h = tf.matmul(h, kernel) + bias[:, None, :]
            if i < layers - 1:
                h = self.activation(h)
        return tf.squeeze(h, axis=-1)

    def weights_of(self, task):
        """The weights of one task's critic, in ConcatCritic.get_weights() order."""
        return [w.numpy()[task] for w in self.stacked]
