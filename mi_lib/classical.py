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
