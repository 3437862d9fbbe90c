"""Data sets of the course: generators of synthetic tasks and loaders of real data.

``tishby_12bit`` builds the 12-bit task of Shwartz-Ziv & Tishby (2017): all 4,096 binary patterns
of 12 inputs and a binary label that is a thresholded rotation-invariant function of the pattern.
Their data file (``var_u.mat``) was published without the code that made it, so the construction
below follows their description and is documented in full; it is exact and deterministic.
"""

from dataclasses import dataclass

import numpy as np

from mi_lib._checks import flag, optional_path, positive_int, seed32

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


# --- Fashion-MNIST (Xiao, Rasul & Vollgraf 2017): 70,000 grey 28 x 28 images of 10 clothing classes ---

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
FASHION_MNIST_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
FASHION_MNIST_VARIABLE = "MI_FASHION_MNIST_DIR"
DEBIAN_FASHION_MNIST = "/usr/share/datasets/fashion-mnist"  # the Debian package dataset-fashion-mnist
FASHION_MNIST_HELP = (
    "Fashion-MNIST was not found. Get it one of these ways:\n"
    "  - Debian/Ubuntu: `apt-get install dataset-fashion-mnist` (files in\n"
    "    /usr/share/datasets/fashion-mnist; `make data-deps` does it as root);\n"
    "  - with network: `python -c 'import keras; keras.datasets.fashion_mnist.load_data()'` (files in\n"
    "    ~/.keras/datasets/fashion-mnist), or call load_fashion_mnist(download=True);\n"
    "  - by hand: put the four files " + ", ".join(FASHION_MNIST_FILES) + " from\n"
    "    https://github.com/zalandoresearch/fashion-mnist (data/fashion) in a folder and set\n"
    "    $" + FASHION_MNIST_VARIABLE + " to it or pass directory=."
)


@dataclass(frozen=True)
class FashionMNIST:
    """The official split: 60,000 training and 10,000 test images, uint8 (n, 28, 28), labels 0-9."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # the folder the files were read from


def _read_idx(path, magic):
    """One gzip-compressed IDX file (LeCun's MNIST format): a big-endian header, then uint8 data."""
    import gzip

    with gzip.open(path, "rb") as file:
        data = file.read()
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ValueError(f"{path} is not an IDX file of the expected kind (magic {found}, expected {magic})")
    ndim = data[3]
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    array = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: {array.size} values for shape {shape}")
    return array.reshape(shape)


def fashion_mnist_candidates():
    """The folders searched, in order: ``$MI_FASHION_MNIST_DIR``, the Debian package's folder, the
    Keras dataset cache (``$KERAS_HOME`` or ``~/.keras``, then ``datasets/fashion-mnist``)."""
    import os
    from pathlib import Path

    folders = []
    if os.environ.get(FASHION_MNIST_VARIABLE):
        folders.append(Path(os.environ[FASHION_MNIST_VARIABLE]).expanduser())
    folders.append(Path(DEBIAN_FASHION_MNIST))
    keras_home = Path(os.environ.get("KERAS_HOME") or Path.home() / ".keras").expanduser()
    folders.append(keras_home / "datasets" / "fashion-mnist")
    return folders


def find_fashion_mnist(directory=None):
    """The first folder holding all four Fashion-MNIST files: ``directory`` alone if given, else the
    folders of :func:`fashion_mnist_candidates`. Raises FileNotFoundError saying how to get them."""
    from pathlib import Path

    optional_path("directory", directory)
    folders = [Path(directory).expanduser()] if directory is not None else fashion_mnist_candidates()
    for folder in folders:
        if all((folder / name).is_file() for name in FASHION_MNIST_FILES):
            return folder
    searched = "\n".join(f"  {folder}" for folder in folders)
    raise FileNotFoundError(f"{FASHION_MNIST_HELP}\nSearched:\n{searched}")


def load_fashion_mnist(directory=None, download=False):
    """Fashion-MNIST from local files (see :func:`find_fashion_mnist`). With ``download=True`` and
    nothing local, Keras downloads it to its cache; off by default, since the course never touches
    the network while it runs."""
    flag("download", download)
    try:
        folder = find_fashion_mnist(directory)
    except FileNotFoundError:
        if not download or directory is not None:
            raise
        import keras

        keras.datasets.fashion_mnist.load_data()  # writes the four files into the Keras cache
        folder = find_fashion_mnist()
    x_train, y_train, x_test, y_test = (
        _read_idx(folder / name, 2051 if "images" in name else 2049) for name in FASHION_MNIST_FILES
    )
    if len(x_train) != len(y_train) or len(x_test) != len(y_test):
        raise ValueError(f"Fashion-MNIST in {folder}: images and labels differ in number")
    return FashionMNIST(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64), str(folder))


# --- The cats-vs-dogs images of the original study (the backbones' second task, chapter 7) ----------


class Unavailable(Exception):  # a reason to skip, not an error of the caller
    """A model or data set of the original configuration is not available here; str() says why."""


CATS_VS_DOGS_VARIABLE = "MI_CATS_VS_DOGS_DIR"


def load_cats_vs_dogs(directory=None, size=224, per_class=1000, seed=0):
    """The cats-vs-dogs images of the original study (the Kaggle/Microsoft "PetImages" set that
    TensorFlow Datasets also serves) from a local folder with ``Cat/`` and ``Dog/`` subfolders:
    ``directory`` or ``$MI_CATS_VS_DOGS_DIR``. Returns float32 images (n, size, size, 3) in [0, 255]
    and labels (0 cat, 1 dog); ``per_class`` images of each, drawn with ``seed``. Files that do not
    decode (the set has some) are skipped. Raises :class:`Unavailable` when there is no such folder."""
    import os
    from pathlib import Path

    optional_path("directory", directory)
    size, per_class = positive_int("size", size), positive_int("per_class", per_class)
    seed = seed32("seed", seed)
    import tensorflow as tf

    folder = directory or os.environ.get(CATS_VS_DOGS_VARIABLE)
    if not folder:
        raise Unavailable(f"no cats-vs-dogs folder: pass directory= or set ${CATS_VS_DOGS_VARIABLE}")
    folder = Path(folder).expanduser()
    images, labels = [], []
    for label, sub in enumerate(("Cat", "Dog")):
        files = sorted((folder / sub).glob("*.jp*g")) if (folder / sub).is_dir() else []
        if not files:
            raise Unavailable(f"no cats-vs-dogs images in {folder / sub}")
        kept = 0
        for path in np.random.default_rng([seed, label]).permutation(files):
            try:
                image = tf.io.decode_jpeg(tf.io.read_file(str(path)), channels=3)
            except tf.errors.InvalidArgumentError:
                continue
            images.append(tf.image.resize(image, (size, size)).numpy())
            labels.append(label)
            kept += 1
            if kept == per_class:
                break
    return np.stack(images).astype(np.float32), np.asarray(labels, np.int64)
