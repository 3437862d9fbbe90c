"""Non-neural estimators of mutual information, for comparison with the neural ones. In nats."""

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mi_lib._checks import as_samples, positive_int


def ksg(x, y, k=3):
    """The Kraskov-Stoegbauer-Grassberger estimator (their first algorithm) of I(X; Y):

    psi(k) + psi(n) - < psi(n_x + 1) + psi(n_y + 1) >,

    where, for each sample, eps is the max-norm distance to its k-th nearest neighbour in the joint
    space and n_x, n_y count the other samples strictly closer than eps in each marginal space.
    Nearly unbiased at low dimension; it underestimates large MI in high dimension (Kraskov et al.
    2004; Czyz et al. 2023).
    """
    x, y = as_samples("x", x), as_samples("y", y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    k = positive_int("k", k)
    n = len(x)
    if n <= k:
        raise ValueError(f"k ({k}) must be smaller than the number of samples ({n})")
    joint = np.hstack([x, y])
    # distance to the k-th neighbour (the first "neighbour" returned is the point itself)
    eps = cKDTree(joint).query(joint, k=k + 1, p=np.inf)[0][:, -1]
    radius = np.nextafter(eps, 0)  # strictly closer than eps
    n_x = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True) - 1
    n_y = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1)))


def kde_bounds(t, sigma):
    """Kolchinsky & Tracey's bounds on I(X; T + eps) in nats, for a deterministic layer T = f(X),
    eps ~ N(0, sigma^2 I) and X uniform over the n given samples, whose layer outputs are ``t``.

    T + eps is then a mixture of n Gaussians N(t_i, sigma^2 I), and I(X; T + eps) = h(T + eps) - h(eps)
    is the entropy of the mixture's component index lowered by how much the components overlap.
    With pairwise distances between components (Kolchinsky & Tracey 2017, "Estimating mixture
    entropy with pairwise distances"):

        lower = -1/n sum_i log 1/n sum_j exp(-|t_i - t_j|^2 / (8 sigma^2))   (Bhattacharyya)
        upper = -1/n sum_i log 1/n sum_j exp(-|t_i - t_j|^2 / (2 sigma^2))   (Kullback-Leibler)

    Both lie in [0, log n]. Returns ``(lower, upper)``. For samples of a continuous X they bound the
    information of the empirical distribution, which approaches the population value as n grows.
    """
    t = as_samples("t", t)
    if not (isinstance(sigma, (int, float, np.floating)) and np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    squared = np.sum(t**2, axis=1)
    distances = np.maximum(squared[:, None] + squared[None, :] - 2.0 * t @ t.T, 0.0)
    n = len(t)

    def pairwise_bound(scale):
        kernel = -distances / scale
        row_max = kernel.max(axis=1, keepdims=True)  # log-sum-exp, stable for small sigma
        log_mean = row_max[:, 0] + np.log(np.exp(kernel - row_max).sum(axis=1)) - np.log(n)
        return float(-np.mean(log_mean))

    return pairwise_bound(8.0 * sigma**2), pairwise_bound(2.0 * sigma**2)


def sample_propagation(t, sigma, noise_draws=10, seed=0):
    """Goldfeld et al.'s sample-propagation estimate of I(X; T + eps) in nats, for a deterministic
    layer with outputs ``t`` (n, d) and eps ~ N(0, sigma^2 I).

    T + eps has the density of the Gaussian mixture (1/n) sum_j N(t_j, sigma^2 I); its entropy is
    estimated by Monte Carlo over that same mixture (``noise_draws`` noisy copies of every t_i) and
    h(eps) = d/2 log(2 pi e sigma^2) is subtracted. Unlike the pairwise bounds of :func:`kde_bounds`,
    it converges to the population value as n grows (Goldfeld et al. 2019), at a rate that slows
    with the dimension d.
    """
    t = as_samples("t", t)
    if not (isinstance(sigma, (int, float, np.floating)) and np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive finite number, got {sigma!r}")
    noise_draws = positive_int("noise_draws", noise_draws)
    n, d = t.shape
    rng = np.random.default_rng(seed)
    squared_t = np.sum(t**2, axis=1)
    log_density = []
    for _ in range(noise_draws):
        points = t + sigma * rng.standard_normal(t.shape)
        distances = np.sum(points**2, axis=1)[:, None] + squared_t[None, :] - 2.0 * points @ t.T
        kernel = -np.maximum(distances, 0.0) / (2.0 * sigma**2)
        row_max = kernel.max(axis=1, keepdims=True)
        log_mean = row_max[:, 0] + np.log(np.exp(kernel - row_max).sum(axis=1)) - np.log(n)
        log_density.append(log_mean - 0.5 * d * np.log(2.0 * np.pi * sigma**2))
    entropy = -float(np.mean(log_density))
    return entropy - 0.5 * d * np.log(2.0 * np.pi * np.e * sigma**2)
