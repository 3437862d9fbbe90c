"""Non-neural estimators of mutual information, for comparison with the neural ones. In nats."""

import numpy as np
from scipy.spatial import cKDTree
from scipy.special import digamma

from mi_lib._checks import as_samples, positive_int, positive_number

# KSG's tie-breaking noise, in units of each coordinate's standard deviation (scikit-learn's
# mutual_info_regression adds the same 1e-10, as Kraskov et al. advise).
KSG_JITTER = 1e-10
# Entries of one row block of an n x n kernel matrix: the KDE estimators' memory is O(n * this).
_BLOCK_ELEMENTS = 1 << 20
_FLOAT32_LOWEST = float(np.finfo(np.float32).min)


def _seed(name, value):
    """An integer seed in [0, 2**31 - 1) (None is refused: these estimators are deterministic)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 0 <= value < 2**31 - 1:
        raise ValueError(f"{name} must be an integer in [0, 2**31 - 1), got {value!r}")
    return int(value)


def _standardised(values):
    """Each column shifted to mean 0 and scaled to standard deviation 1 (a constant column: 0)."""
    centred = values - values.mean(axis=0)
    std = centred.std(axis=0)
    return centred / np.where(std > 0, std, 1.0)


def ksg(x, y, k=3, *, seed=0):
    """The Kraskov-Stoegbauer-Grassberger estimator (their first algorithm) of I(X; Y):

    psi(k) + psi(n) - < psi(n_x + 1) + psi(n_y + 1) >,

    where, for each sample, eps is the max-norm distance to its k-th nearest neighbour in the joint
    space and n_x, n_y count the other samples strictly closer than eps in each marginal space.
    Nearly unbiased at low dimension; it underestimates large MI in high dimension (Kraskov et al.
    2004; Czyz et al. 2023).

    Every coordinate of ``x`` and ``y`` is first standardised (mean 0, standard deviation 1), so the
    estimate does not depend on the units of either side, and noise of standard deviation
    ``KSG_JITTER`` (1e-10) drawn from ``seed`` is added to break ties, as scikit-learn's
    ``mutual_info_regression`` does. The result is deterministic for a given ``seed``.
    """
    x, y = as_samples("x", x), as_samples("y", y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same number of samples, got {len(x)} and {len(y)}")
    k = positive_int("k", k)
    rng = np.random.default_rng(_seed("seed", seed))
    n = len(x)
    if n <= k:
        raise ValueError(f"k ({k}) must be smaller than the number of samples ({n})")
    x = _standardised(x) + KSG_JITTER * rng.standard_normal(x.shape)
    y = _standardised(y) + KSG_JITTER * rng.standard_normal(y.shape)
    joint = np.hstack([x, y])
    # distance to the k-th neighbour (the first "neighbour" returned is the point itself)
    eps = cKDTree(joint).query(joint, k=k + 1, p=np.inf)[0][:, -1]
    radius = np.nextafter(eps, 0)  # strictly closer than eps
    n_x = cKDTree(x).query_ball_point(x, radius, p=np.inf, return_length=True) - 1
    n_y = cKDTree(y).query_ball_point(y, radius, p=np.inf, return_length=True) - 1
    return float(digamma(k) + digamma(n) - np.mean(digamma(n_x + 1) + digamma(n_y + 1)))


def _log_mean_kernel(points, centres, scales):
    """log 1/m sum_j exp(-|points_i - centres_j|^2 / scale) for every row i of ``points`` (n, d),
    the m ``centres`` (m, d) and every scale of ``scales``: an array (len(scales), n).

    Computed in blocks of rows, so memory is O(m * block) rather than O(n * m). The squared
    distances come from one float64 matrix product per block, on coordinates centred on the
    centres' mean (which keeps the cancellation in |a|^2 + |b|^2 - 2 a.b small). Each row's
    smallest distance is subtracted there, in float64; this is log-sum-exp's shift by the largest
    term, so the remaining exponentials lie in (0, 1] with one equal to 1 and can neither overflow
    nor all underflow. Only these non-negative offsets go to float32 for the exponentials, which
    moves the result by about 1e-7 nats (tests/test_classical.py checks 1e-4 against float64).
    """
    origin = centres.mean(axis=0)
    points, centres = points - origin, centres - origin
    # [-2 a, 1] . [b, |b|^2] = |b|^2 - 2 a.b: the product yields each distance less |a|^2, which is
    # constant along a row and so drops out of the offsets.
    centres = np.hstack([centres, np.sum(centres**2, axis=1, keepdims=True)])
    rows = max(1, _BLOCK_ELEMENTS // len(centres))
    out = np.empty((len(scales), len(points)))
    for start in range(0, len(points), rows):
        block = points[start : start + rows]
        partial = np.hstack([-2.0 * block, np.ones((len(block), 1))]) @ centres.T
        smallest = partial.min(axis=1)
        offsets = np.empty(partial.shape, dtype=np.float32)
        np.subtract(partial, smallest[:, None], out=offsets, casting="same_kind")
        del partial
        nearest = np.maximum(smallest + np.sum(block**2, axis=1), 0.0)  # squared distance, >= 0
        kernel = np.empty_like(offsets)
        for i, scale in enumerate(scales):
            # -1/scale kept finite in float32 (sigma below 1e-19 would give -inf, and 0 * -inf = NaN);
            # products beyond float32's range become -inf, whose exponential is 0, as it should be.
            with np.errstate(over="ignore"):
                np.multiply(offsets, np.float32(max(-1.0 / scale, _FLOAT32_LOWEST)), out=kernel)
            np.exp(kernel, out=kernel)
            out[i, start : start + rows] = np.log(kernel.sum(axis=1, dtype=np.float64)) - nearest / scale
    return out - np.log(len(centres))


def _sigma(value):
    sigma = positive_number("sigma", value)
    if sigma**2 == 0:
        raise ValueError(f"sigma is too small: its square underflows to 0, got {value!r}")
    return sigma


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
    Memory is O(n) plus a block of rows of the n x n kernel (about 20 MB whatever n).
    """
    t = as_samples("t", t)
    sigma = _sigma(sigma)
    lower, upper = -np.mean(_log_mean_kernel(t, t, (8.0 * sigma**2, 2.0 * sigma**2)), axis=1)
    return float(lower), float(upper)


def sample_propagation(t, sigma, noise_draws=10, seed=0):
    """Goldfeld et al.'s sample-propagation estimate of I(X; T + eps) in nats, for a deterministic
    layer with outputs ``t`` (n, d) and eps ~ N(0, sigma^2 I).

    T + eps has the density of the Gaussian mixture (1/n) sum_j N(t_j, sigma^2 I); its entropy is
    estimated by Monte Carlo over that same mixture (``noise_draws`` noisy copies of every t_i) and
    h(eps) = d/2 log(2 pi e sigma^2) is subtracted. Unlike the pairwise bounds of :func:`kde_bounds`,
    it converges to the population value as n grows (Goldfeld et al. 2019), at a rate that slows
    with the dimension d. Memory is O(n d) plus a block of rows of the n x n kernel.
    """
    t = as_samples("t", t)
    sigma = _sigma(sigma)
    noise_draws = positive_int("noise_draws", noise_draws)
    rng = np.random.default_rng(_seed("seed", seed))
    d = t.shape[1]
    log_mean = [
        _log_mean_kernel(t + sigma * rng.standard_normal(t.shape), t, (2.0 * sigma**2,))[0]
        for _ in range(noise_draws)
    ]
    # -E log p(T + eps) - h(eps), with log p = log_mean - d/2 log(2 pi sigma^2)
    return float(-np.mean(log_mean) - 0.5 * d)


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
