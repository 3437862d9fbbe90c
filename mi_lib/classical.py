"""Non-neural estimators of mutual information, for comparison with the neural ones. In nats."""

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mi_lib._checks import as_samples, positive_int, positive_number


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
    positive_number("sigma", sigma)
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
    positive_number("sigma", sigma)
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


def _symbols(name, values):
    """Rows of a discrete variable (n,) or (n, k) as integer symbols 0..m-1, and m."""
    arr = np.asarray(values)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty 1-D (n,) or 2-D (n, k) array, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating) and not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or inf")
    # Symbols per column, then one mixed-radix integer per row: a 1-D unique is much faster than
    # np.unique(axis=0), and binning calls this for every layer and epoch.
    columns = [np.unique(column, return_inverse=True) for column in arr.T]
    sizes = [len(values) for values, _ in columns]
    if np.sum(np.log2(np.maximum(sizes, 1))) < 62:
        code = np.zeros(len(arr), dtype=np.int64)
        for (_, inverse), size in zip(columns, sizes, strict=True):
            code = code * size + inverse.reshape(-1)
        _, inverse = np.unique(code, return_inverse=True)
    else:
        _, inverse = np.unique(arr, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    return inverse, int(inverse.max()) + 1


def _plugin_entropy(symbols):
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / len(symbols)
    return float(-np.sum(p * np.log(p)))


def binning(t, labels, bins=30, value_range=(-1.0, 1.0)):
    """Tishby's binning estimate of I(T; L) in nats (Shwartz-Ziv & Tishby 2017).

    Every coordinate of ``t`` (n, d) is cut into ``bins`` equal intervals of ``value_range``
    (values outside it fall into the first or last interval); a row's d interval indices make one
    discrete symbol. ``labels`` is a discrete variable, (n,) or (n, k), one symbol per distinct row.
    The n pairs are taken as the whole, equally weighted distribution, and the plug-in value
    H(T_binned) + H(L) - H(T_binned, L) is returned.

    With ``labels`` the input patterns themselves (all distinct, X uniform over them) this is
    H(T_binned), Tishby's I(X; T); with the class labels it is his I(T; Y). It lies in
    [0, min(H(T_binned), H(L))] <= log n, and it measures the binned layer, not the layer: T is a
    deterministic function of X, so the value depends on the bin width (Saxe et al. 2018).
    """
    t = as_samples("t", t)
    bins = positive_int("bins", bins)
    try:
        low, high = (float(v) for v in value_range)
    except (TypeError, ValueError) as error:
        raise ValueError(f"value_range must be a pair (low, high) of numbers, got {value_range!r}") from error
    if not (np.isfinite(low) and np.isfinite(high) and low < high):
        raise ValueError(f"value_range must be finite with low < high, got {value_range!r}")
    label_symbols, _ = _symbols("labels", labels)
    if len(label_symbols) != len(t):
        raise ValueError(
            f"t and labels must have the same number of samples, got {len(t)} and {len(label_symbols)}"
        )
    inner_edges = np.linspace(low, high, bins + 1)[1:-1]
    cells = np.digitize(t, inner_edges)  # 0 .. bins-1 per coordinate
    t_symbols, _ = _symbols("t", cells)
    joint = t_symbols.astype(np.int64) * (int(label_symbols.max()) + 1) + label_symbols
    return _plugin_entropy(t_symbols) + _plugin_entropy(label_symbols) - _plugin_entropy(joint)
