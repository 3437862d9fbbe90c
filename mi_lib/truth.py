"""Ground truth: tasks whose mutual information is known in closed form or by quadrature. In nats."""

from dataclasses import dataclass

import numpy as np
from scipy import integrate, special, stats

from mi_lib._checks import as_samples, positive_int, positive_number


def _floats(name, values):
    """``values`` as a float64 array, or a ValueError naming ``name`` (strings, complex, ragged)."""
    try:
        array = np.asarray(values)
        if array.dtype.kind not in "biufO":
            raise TypeError(array.dtype)
        return array.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be real numbers, got {type(values).__name__} {values!r:.80}") from None


def _generator(seed):
    """A numpy Generator from ``seed``, or a ValueError naming seed. As numpy's default_rng: None, a
    non-negative integer or a sequence of them (the chapters seed with pairs such as (seed, stage))."""
    try:
        if isinstance(seed, bool):
            raise TypeError(seed)
        return np.random.default_rng(seed)
    except (TypeError, ValueError):
        raise ValueError(
            f"seed must be None, a non-negative integer or a sequence of them, got {seed!r:.80}"
        ) from None


def _covariance(name, cov):
    cov = np.atleast_2d(_floats(name, cov))
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {cov.shape}")
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{name} contains NaN or inf")
    if not np.allclose(cov, cov.T, atol=1e-10):
        raise ValueError(f"{name} must be symmetric")
    return cov


def _logdet(name, cov):
    sign, value = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError(f"{name} must be positive definite")
    return value


def gaussian_mi(cov, dim_x):
    """I(X; Y) for jointly Gaussian (X, Y) with joint covariance ``cov``; X is the first ``dim_x``
    coordinates: 1/2 (log det S_xx + log det S_yy - log det S)."""
    cov = _covariance("cov", cov)
    if isinstance(dim_x, bool) or not isinstance(dim_x, (int, np.integer)) or not 0 < dim_x < len(cov):
        raise ValueError(f"dim_x must be an integer in [1, {len(cov) - 1}], got {dim_x!r}")
    return 0.5 * (
        _logdet("cov[:dim_x, :dim_x]", cov[:dim_x, :dim_x])
        + _logdet("cov[dim_x:, dim_x:]", cov[dim_x:, dim_x:])
        - _logdet("cov", cov)
    )


def _rho(rho):
    if not (isinstance(rho, (int, float, np.floating)) and -1 < rho < 1):
        raise ValueError(f"rho must be a number in (-1, 1), got {rho!r}")
    return float(rho)


def correlated_gaussians(n, dim, rho, seed=None):
    """The test of the MINE paper: standard Gaussian X_a, X_b in ``dim`` dimensions with
    corr(X_a^i, X_b^j) = delta_ij rho. Returns (x_a, x_b), each of shape (n, dim)."""
    n, dim, rho = positive_int("n", n), positive_int("dim", dim), _rho(rho)
    rng = _generator(seed)
    x = rng.standard_normal((n, dim))
    y = rho * x + np.sqrt(1 - rho**2) * rng.standard_normal((n, dim))
    return x, y


def correlated_gaussians_mi(dim, rho):
    """I(X_a; X_b) of :func:`correlated_gaussians`: -dim/2 log(1 - rho^2)."""
    return -0.5 * positive_int("dim", dim) * np.log1p(-(_rho(rho) ** 2))


def noisy_linear_mi(a, sigma, cov=None):
    """I(X; AX + eps) for X ~ N(0, cov) (identity when None) and eps ~ N(0, sigma^2 I) independent:
    1/2 log det(I + A cov A^T / sigma^2). Finite for every sigma > 0, although I(X; AX) = +inf."""
    a = np.atleast_2d(_floats("a", a))
    if a.ndim != 2 or not np.all(np.isfinite(a)):
        raise ValueError(f"a must be a finite matrix (dim_t, dim_x), got shape {a.shape}")
    positive_number("sigma", sigma)
    cov = np.eye(a.shape[1]) if cov is None else _covariance("cov", cov)
    if cov.shape[0] != a.shape[1]:
        raise ValueError(f"cov has shape {cov.shape} but a has {a.shape[1]} columns")
    signal = a @ cov @ a.T / sigma**2
    return 0.5 * _logdet("I + a cov a^T / sigma^2", np.eye(len(a)) + signal)


@dataclass(frozen=True)
class MixtureTask:
    """X: a point on the plane; Z: its class label. Each class's points are a mixture of isotropic
    Gaussians. Component k belongs to class ``labels[k]``, has probability ``weights[k]`` (over all
    components, so a class's probability is the sum of its components' weights), centre
    ``means[k]`` and standard deviation ``stds[k]``."""

    labels: tuple
    weights: tuple
    means: tuple
    stds: tuple

    def __post_init__(self):
        k = len(self.labels)
        if not (len(self.weights) == len(self.means) == len(self.stds) == k) or k == 0:
            raise ValueError("labels, weights, means and stds must have one entry per component")
        if any(isinstance(z, bool) or not isinstance(z, (int, np.integer)) for z in self.labels):
            raise ValueError(f"labels must be integers, got {self.labels}")
        if set(self.labels) != set(range(max(self.labels) + 1)):
            raise ValueError(
                f"labels must use every class 0, 1, ..., max(labels) and no other, got {self.labels}"
            )
        weights = _floats("weights", self.weights)
        if np.any(weights <= 0) or not np.isclose(sum(self.weights), 1.0):
            raise ValueError(f"weights must be positive and sum to 1, got {self.weights}")
        means = _floats("means", self.means)
        if means.shape != (k, 2) or not np.all(np.isfinite(means)):
            raise ValueError("means must hold one finite 2-D centre per component")
        stds = _floats("stds", self.stds)
        if not np.all(np.isfinite(stds) & (stds > 0)):
            raise ValueError(f"stds must be positive and finite, got {self.stds}")

    @classmethod
    def overlapping(cls):
        """Two classes whose components interleave: I(X; Z) clearly below log 2."""
        return cls(
            labels=(0, 0, 1, 1),
            weights=(0.3, 0.2, 0.25, 0.25),
            means=((-1.0, 0.0), (1.5, 1.5), (0.5, -0.5), (-0.5, 1.5)),
            stds=(1.0, 0.8, 0.9, 0.8),
        )

    @classmethod
    def separated(cls):
        """Two classes in equal proportion, almost separated: I(X; Z) close to log 2."""
        return cls(
            labels=(0, 0, 1, 1),
            weights=(0.25, 0.25, 0.25, 0.25),
            means=((-3.0, -3.0), (-3.0, 3.0), (3.0, 3.0), (3.0, -3.0)),
            stds=(0.8, 0.8, 0.8, 0.8),
        )

    @property
    def classes(self):
        return int(max(self.labels)) + 1

    @property
    def class_probabilities(self):
        return np.bincount(self.labels, weights=self.weights, minlength=self.classes)

    def sample(self, n, seed=None):
        """Draw ``n`` samples: x of shape (n, 2) and integer labels z of shape (n,)."""
        n = positive_int("n", n)
        rng = _generator(seed)
        component = rng.choice(len(self.labels), size=n, p=np.asarray(self.weights))
        means, stds = np.asarray(self.means, dtype=float), np.asarray(self.stds, dtype=float)
        x = means[component] + stds[component, None] * rng.standard_normal((n, 2))
        return x, np.asarray(self.labels)[component]

    def log_joint(self, x):
        """log p(x, z) for every class z: shape (n, classes). ``x``: points (n, 2), or one point (2,)."""
        x = as_samples("x", np.atleast_2d(x))
        if x.shape[1] != 2:
            raise ValueError(f"x must hold points on the plane, shape (n, 2), got {x.shape[1]} columns")
        return self._log_joint(x)

    def _log_joint(self, x):
        means, stds = np.asarray(self.means, dtype=float), np.asarray(self.stds, dtype=float)
        d2 = ((x[:, None, :] - means[None]) ** 2).sum(-1)
        log_comp = np.log(self.weights) - np.log(2 * np.pi * stds**2) - d2 / (2 * stds**2)
        out = np.full((len(x), self.classes), -np.inf)
        for z in range(self.classes):
            out[:, z] = special.logsumexp(log_comp[:, np.asarray(self.labels) == z], axis=1)
        return out

    def mutual_information(self, tol=1e-9):
        """I(X; Z) = H(Z) - E_x[H(Z | X = x)] by adaptive cubature (scipy) over a box that holds all
        but a negligible tail of the mass. Returns (value, error estimate), in nats."""
        tol = positive_number("tol", tol)
        means, stds = np.asarray(self.means, dtype=float), np.asarray(self.stds, dtype=float)
        low = (means - 10 * stds[:, None]).min(axis=0)
        high = (means + 10 * stds[:, None]).max(axis=0)

        def density_times_conditional_entropy(points):
            log_joint = self._log_joint(points)
            log_px = special.logsumexp(log_joint, axis=1)
            posterior = np.exp(log_joint - log_px[:, None])
            return np.exp(log_px) * special.entr(posterior).sum(axis=1)

        result = integrate.cubature(density_times_conditional_entropy, low, high, atol=tol, rtol=tol)
        if result.status != "converged":
            raise RuntimeError(f"cubature did not converge: error estimate {result.error}")
        return float(stats.entropy(self.class_probabilities) - result.estimate), float(result.error)

    def pointwise_mi(self, x, z):
        """The pointwise information log p(z | x) - log p(z) of each pair; its mean is I(X; Z)."""
        log_joint = self.log_joint(x)
        z = np.asarray(z)
        if z.dtype == bool or not np.issubdtype(z.dtype, np.integer) or z.shape != (len(log_joint),):
            raise ValueError(
                f"z must be {len(log_joint)} integer labels, one per point of x, got {z.dtype} {z.shape}"
            )
        if np.any((z < 0) | (z >= self.classes)):
            raise ValueError(f"z must hold classes in [0, {self.classes - 1}], got {z.min()}..{z.max()}")
        posterior = log_joint[np.arange(len(z)), z] - special.logsumexp(log_joint, axis=1)
        return posterior - np.log(self.class_probabilities)[z]

    def monte_carlo_mi(self, n, seed=None):
        """Monte-Carlo I(X; Z) = E[log p(z | x) - log p(z)]: (mean, standard error), in nats."""
        pointwise = self.pointwise_mi(*self.sample(n, seed))
        return float(pointwise.mean()), float(pointwise.std(ddof=1) / np.sqrt(len(pointwise)))


def linear_regression_weights_mi(x, prior_variance, noise_variance):
    """I(w; S) in Bayesian linear regression: weights w ~ N(0, prior_variance I), targets
    y = x w + N(0, noise_variance), the training set S = (x, y) with the inputs x (n, d) drawn
    independently of w. The information is all in the targets, and Gaussian: for these inputs x,
    I(w; y | x) = 1/2 log det(I + prior_variance x^T x / noise_variance). Since I(w; x) = 0,
    I(w; S) is its mean over the inputs' distribution (equal for a fixed design)."""
    x = as_samples("x", x)
    ratio = positive_number("prior_variance", prior_variance)
    ratio /= positive_number("noise_variance", noise_variance)
    return 0.5 * float(np.linalg.slogdet(np.eye(x.shape[1]) + ratio * x.T @ x)[1])


def _split(cov, dim_x):
    if isinstance(dim_x, bool) or not isinstance(dim_x, (int, np.integer)) or not 0 < dim_x < len(cov):
        raise ValueError(f"dim_x must be an integer in [1, {len(cov) - 1}], got {dim_x!r}")
    return int(dim_x)


def gaussian_samples(n, cov, dim_x, seed=None):
    """Samples of (X, Y) ~ N(0, ``cov``), X the first ``dim_x`` coordinates: (x, y) of shapes
    (n, dim_x) and (n, len(cov) - dim_x). Their I(X; Y) is :func:`gaussian_mi`."""
    n, cov = positive_int("n", n), _covariance("cov", cov)
    dim_x = _split(cov, dim_x)
    _logdet("cov", cov)
    z = _generator(seed).standard_normal((n, len(cov))) @ np.linalg.cholesky(cov).T
    return z[:, :dim_x], z[:, dim_x:]


def student_t_correction(df, dim_x, dim_y):
    """What heavy tails add to I(X; Y) for a multivariate Student-t (X, Y) with ``df`` degrees of
    freedom (Arellano-Valle et al. 2013; the "Beyond normal" benchmark, Czyz et al. 2023):

    c = f(df) + f(df + dim_x + dim_y) - f(df + dim_x) - f(df + dim_y),
    f(k) = log Gamma(k/2) - (k/2) digamma(k/2).

    Positive, and it vanishes as df grows: X and Y share the scale variable W even when their scale
    matrix is block-diagonal, so they are dependent though uncorrelated."""
    df = positive_number("df", df)
    dim_x, dim_y = positive_int("dim_x", dim_x), positive_int("dim_y", dim_y)

    def f(k):
        return special.gammaln(k / 2) - k / 2 * special.digamma(k / 2)

    return float(f(df) + f(df + dim_x + dim_y) - f(df + dim_x) - f(df + dim_y))


def student_t_mi(scale, dim_x, df):
    """I(X; Y) for a multivariate Student-t (X, Y) with scale matrix ``scale`` (its covariance is
    df / (df - 2) scale when df > 2) and ``df`` degrees of freedom, X the first ``dim_x``
    coordinates: the Gaussian I(X; Y) of the same scale matrix plus :func:`student_t_correction`."""
    scale = _covariance("scale", scale)
    dim_x = _split(scale, dim_x)
    gaussian = 0.5 * (
        _logdet("scale[:dim_x, :dim_x]", scale[:dim_x, :dim_x])
        + _logdet("scale[dim_x:, dim_x:]", scale[dim_x:, dim_x:])
        - _logdet("scale", scale)
    )
    return gaussian + student_t_correction(df, dim_x, len(scale) - dim_x)


def student_t_samples(n, scale, dim_x, df, seed=None):
    """Samples of the multivariate Student-t of :func:`student_t_mi`: Z / sqrt(W / df) with
    Z ~ N(0, scale) and W ~ chi^2(df) independent (one W for both X and Y). Returns (x, y)."""
    n, scale, df = positive_int("n", n), _covariance("scale", scale), positive_number("df", df)
    dim_x = _split(scale, dim_x)
    _logdet("scale", scale)
    rng = _generator(seed)
    z = rng.standard_normal((n, len(scale))) @ np.linalg.cholesky(scale).T
    z /= np.sqrt(rng.chisquare(df, size=(n, 1)) / df)
    return z[:, :dim_x], z[:, dim_x:]
