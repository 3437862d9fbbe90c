"""Data sets of the course: generators of synthetic tasks and loaders of real data.

``tishby_12bit`` builds the 12-bit task of Shwartz-Ziv & Tishby (2017): all 4,096 binary patterns
of 12 inputs and a binary label that is a thresholded rotation-invariant function of the pattern.
Their data file (``var_u.mat``) was published without the code that made it, so the construction
below follows their description and is documented in full; it is exact and deterministic.
"""

from dataclasses import dataclass

import numpy as np

from mi_lib._checks import positive_int

N_BITS = 12


def icosahedron_vertices():
    """The 12 vertices of a regular icosahedron as unit vectors (12, 3): the only way to spread 12
    points uniformly over the sphere, every point with the same five nearest neighbours. They are
    the cyclic permutations of (0, +-1, +-phi), phi the golden ratio, normalised."""
    phi = (1.0 + np.sqrt(5.0)) / 2.0
    points = []
    for a in (-1.0, 1.0):
        for b in (-phi, phi):
            points += [(0.0, a, b), (a, b, 0.0), (b, 0.0, a)]
    points = np.asarray(points)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def all_patterns(bits=N_BITS):
    """Every binary pattern of ``bits`` inputs, one per row (2**bits, bits), in counting order."""
    bits = positive_int("bits", bits)
    if bits > 24:
        raise ValueError(f"bits must be at most 24 (2**bits patterns are enumerated), got {bits}")
    codes = np.arange(2**bits)[:, None]
    return ((codes >> np.arange(bits)[::-1]) & 1).astype(np.float32)


@dataclass(frozen=True)
class BitTask:
    """A finite task: every input pattern ``x`` once, its label ``y``; X is uniform over the rows."""

    x: np.ndarray  # (4096, 12) float32 in {0, 1}
    y: np.ndarray  # (4096,) int64 in {0, 1}
    score: np.ndarray  # (4096,) the rotation-invariant function f(x) that was thresholded
    threshold: float

    @property
    def label_balance(self):
        """p(y = 1) under the uniform distribution over patterns."""
        return float(self.y.mean())

    def entropy_x(self):
        """H(X) in nats: log 4096, every pattern equally likely."""
        return float(np.log(len(self.x)))

    def mutual_information(self):
        """I(X; Y) in nats. The label is a function of the pattern, so H(Y | X) = 0 and
        I(X; Y) = H(Y), the binary entropy of the label balance."""
        p = self.label_balance
        return float(-sum(q * np.log(q) for q in (p, 1.0 - p) if q > 0))


def tishby_12bit():
    """The 12-bit task of Shwartz-Ziv & Tishby (2017), rebuilt from their description.

    The 12 inputs sit on the vertices v_i of an icosahedron. A pattern x switches some of them on;
    its score is the squared length of the resultant of the active vertices,

        f(x) = | sum_i x_i v_i |^2 = sum_ij x_i x_j (v_i . v_j),

    which depends on the pattern only through the angles between its active points, so it is
    unchanged by every rotation of the sphere that maps the vertices onto themselves (the 60
    rotations of the icosahedral group), and, because sum_i v_i = 0, by swapping on and off. The
    label is y = 1 when f(x) exceeds the threshold theta. f takes only 20 distinct values; theta is
    put midway between the two consecutive values that make p(y = 1) closest to 1/2 (it gives
    2,036 of 4,096, p = 0.497). The label is a deterministic function of x, so I(X; Y) = H(Y).
    """
    x = all_patterns(N_BITS)
    vertices = icosahedron_vertices()
    resultant = x.astype(np.float64) @ vertices
    score = np.round(np.sum(resultant**2, axis=1), 10)  # round: equal scores compare equal
    values = np.unique(score)
    fraction_above = np.array([(score > v).mean() for v in values])
    best = int(np.argmin(np.abs(fraction_above - 0.5)))
    threshold = 0.5 * (values[best] + values[best + 1])
    y = (score > threshold).astype(np.int64)
    return BitTask(x=x, y=y, score=score, threshold=float(threshold))
