"""The README's promise, checked: every public function of mi_lib rejects bad input with a ValueError
whose message names the argument at fault.

One parametrised test runs every case below: a call with one bad input (NaN, inf, empty, wrong
length, wrong rank, strings, a negative scale, an unknown option name, ...) that must raise a
ValueError naming ``argument``. ``test_every_public_callable_has_a_case`` walks the public names of
mi_lib's modules and the public methods of their classes, so that a new function without a case
(or without a stated reason to have none) fails it.

The calls use tiny sizes (a few steps, a few samples): where a check is missing, the call runs to
its end quickly and the case fails, instead of training for minutes.
"""

import functools
import importlib
import inspect
import pkgutil
import re
from types import SimpleNamespace

import networkx as nx
import numpy as np
import pytest

import mi_lib

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 2))
Y = RNG.normal(size=(64, 1))
NAN, INF = float("nan"), float("inf")
COV = np.array([[1.0, 0.5], [0.5, 1.0]])


def spoilt(array, value):
    """A float copy of ``array`` with one entry replaced by ``value``."""
    array = np.array(array, dtype=np.float64)
    array.flat[array.size // 2] = value
    return array


def module(name):
    return importlib.import_module(f"mi_lib.{name}")


class Later:
    """An argument (or the object whose method is called) built only when its case runs, once."""

    def __init__(self, make):
        self.make = functools.cache(make)


def resolve(value):
    return value.make() if isinstance(value, Later) else value


BAD = object()  # where ``samples`` puts each bad array
CASES = []


def case(target, argument, label, *args, on=None, **kwargs):
    """``target(*args, **kwargs)`` must raise a ValueError whose message names ``argument``.

    target: the public callable, as its path inside mi_lib (``truth.gaussian_mi``, ``to_bits``);
    a method is called on ``on`` (a :class:`Later`) when given, else taken from its class."""

    def call():
        *path, name = target.split(".")
        owner = resolve(on) if on is not None else mi_lib
        if on is None:
            for i, part in enumerate(path):
                owner = module(part) if i == 0 else getattr(owner, part)
        function = getattr(owner, name)
        return function(*map(resolve, args), **{k: resolve(v) for k, v in kwargs.items()})

    label = label if argument in label else f"{argument} {label}"
    CASES.append(pytest.param(target, argument, call, id=f"{target}-{label}"))


def samples(target, argument, good, *args, **kwargs):
    """Five cases: ``good`` (n, d) replaced at ``BAD`` by a copy with a NaN, with an inf, by an empty
    array, by strings and by an array of one more dimension."""
    for label, bad in {
        "NaN": spoilt(good, NAN),
        "inf": spoilt(good, INF),
        "empty": np.zeros((0, *good.shape[1:])),
        "strings": np.full(good.shape, "a"),
        "rank+1": np.zeros((*good.shape, 2)),
    }.items():

        def put(value, bad=bad):
            if isinstance(value, list):
                return [bad if v is BAD else v for v in value]
            return bad if value is BAD else value

        case(target, argument, label, *map(put, args), **{k: put(v) for k, v in kwargs.items()})


def options(target, *args, bad_seeds=True, extra=None, **kwargs):
    """The bad options of the estimators, each added to ``kwargs`` in its own case (TINY: a missing
    check costs two training steps on 64 samples, not minutes)."""
    bad = {
        "clip=-1": ("clip", -1.0),
        "hidden=(0,)": ("hidden", (0,)),
        "activation=nope": ("activation", "nope"),
        "learning_rate=inf": ("learning_rate", INF),
        "learning_rate=True": ("learning_rate", True),
        "learning_rate=-1": ("learning_rate", -1.0),
        "steps=0": ("steps", 0),
        "batch_size=0": ("batch_size", 0),
        "heldout=1.5": ("heldout", 1.5),
        "patience=0": ("patience", 0),
        "eval_every=0": ("eval_every", 0),
        "unknown option stepz": ("stepz", 3),
    }
    if bad_seeds:
        bad.update({"seed=-1": ("seed", -1), "seed='a'": ("seed", "a"), "seed=1.5": ("seed", 1.5)})
    for label, (name, value) in bad.items():
        case(target, name, label, *args, **{**(extra or TINY), **kwargs, name: value})


TINY = dict(steps=2, eval_every=1, batch_size=16, hidden=(4,))


# --- objects the cases need, built when first used ------------------------------------------------------


def _classifier():
    import keras

    keras.utils.set_random_seed(0)
    layers = [keras.Input((3,)), keras.layers.Dense(4, activation="tanh"), keras.layers.Dense(2)]
    return keras.Sequential(layers)


CLASSIFIER = Later(_classifier)  # 3 inputs -> 2 logits
XC, YC = RNG.normal(size=(16, 3)).astype(np.float32), np.arange(16) % 2
WEIGHTS = Later(lambda: [v.numpy() for v in CLASSIFIER.make().trainable_variables])
NAN_WEIGHTS = Later(lambda: [spoilt(WEIGHTS.make()[0], NAN), *WEIGHTS.make()[1:]])
PRIOR = Later(
    lambda: module("weights_info").prior_from_heldout(CLASSIFIER.make(), [w + 0.1 for w in WEIGHTS.make()])
)
IDENTITY = Later(lambda: __import__("keras").layers.Identity())
TASK = Later(lambda: module("data").tishby_12bit())
RECORDING = Later(
    lambda: module("infoplane").record_training(
        module("infoplane").TrainingConfig(epochs=2, records=2, seeds=(0,)),
        TASK.make().x,
        TASK.make().y,
        cache=False,
    )
)
FLOW = Later(
    lambda: module("flow").Flow(
        sizes=(2, 2),
        mi=(np.array([[0.5, 0.1], [0.2, 0.4]]),),
        constant=(np.zeros(2, bool), np.zeros(2, bool)),
        feature_mi=None,
        names=(("a", "b"), ("c", "d")),
    )
)
GRAPH = Later(lambda: module("flow").flow_graph(FLOW.make()))
AXES = Later(lambda: __import__("matplotlib.figure").figure.Figure().add_subplot())
ZOO = Later(lambda: module("backbones").ZOO[0])
PRETRAINING = Later(lambda: module("backbones").PretrainConfig(classes=(1, 2), samples=4, epochs=1))
FASHION = Later(
    lambda: module("data").FashionMNIST(
        np.zeros((20, 28, 28), np.uint8),
        np.arange(20) % 10,
        np.zeros((10, 28, 28), np.uint8),
        np.arange(10),
        "-",
    )
)
MIXTURE = Later(
    lambda: module("truth").MixtureTask(
        labels=(0, 1), weights=(0.5, 0.5), means=((0.0, 0.0), (1.0, 1.0)), stds=(1.0, 1.0)
    )
)


# --- mi_lib ---------------------------------------------------------------------------------------------

case("to_bits", "nats", "strings", "a lot")

# --- backbones ------------------------------------------------------------------------------------------

case("backbones.BackboneConfig", "family", "unknown", "vgg")
case("backbones.BackboneConfig", "blocks", "blocks=0", "resnet_v1", blocks=0)
case("backbones.BackboneConfig", "width", "width=10", "inception", width=10)
case("backbones.BackboneConfig", "width", "width=str", "resnet_v1", width="16")
case("backbones.build_backbone", "config", "a name", "resnet_v1")
case("backbones.build_backbone", "seed", "seed=-1", ZOO, seed=-1)
case("backbones.build_backbone", "seed", "seed=str", ZOO, seed="a")
IMAGES = np.full((3, 28, 28), 0.5)
for label, images in {
    "NaN": spoilt(IMAGES, NAN),
    "inf": spoilt(IMAGES, INF),
    "0-255 floats": IMAGES * 255,
    "negative": IMAGES - 1,
    "empty": np.zeros((0, 28, 28)),
    "strings": np.full((3, 28, 28), "a"),
    "32 x 32": np.zeros((3, 32, 32)),
    "rank 1": np.zeros(784),
}.items():
    case("backbones.as_images", "x", label, images)
    case("backbones.embed", "x", label, lambda t: t, images)
case("backbones.embed", "model", "not a model", "resnet", IMAGES)
case("backbones.embed", "batch_size", "batch_size=0", lambda t: t, IMAGES, batch_size=0)
for label, name, value in [
    ("repeated classes", "classes", (1, 1)),
    ("negative class", "classes", (1, -2)),
    ("classes=str", "classes", "12"),
    ("samples=0", "samples", 0),
    ("fewer samples than classes", "samples", 1),
    ("epochs=0", "epochs", 0),
    ("batch_size=0", "batch_size", 0),
    ("learning_rate=inf", "learning_rate", INF),
    ("learning_rate=True", "learning_rate", True),
    ("learning_rate=-1", "learning_rate", -1.0),
]:
    case("backbones.PretrainConfig", name, label, **{"classes": (1, 2), "samples": 4, name: value})
case("backbones.cache_key", "config", "not a config", "resnet", PRETRAINING, 0, "data")
case("backbones.cache_key", "training", "not a config", ZOO, "training", 0, "data")
case("backbones.cache_key", "seed", "seed=-1", ZOO, PRETRAINING, -1, "data")
case("backbones.cache_key", "data_fingerprint", "not a str", ZOO, PRETRAINING, 0, 5)
for label, name, value in [
    ("not a config", "config", "resnet_v1"),
    ("not data", "data", "fashion"),
    ("training not a config", "training", {"epochs": 1}),
    ("seed=-1", "seed", -1),
    ("cache=str", "cache", "yes"),
    ("verbose=str", "verbose", "yes"),
]:
    arguments = dict(config=ZOO, data=FASHION, training=PRETRAINING, cache=False)
    case("backbones.pretrain", name, label, **{**arguments, name: value})
case("backbones.weights_folders", "weights_dir", "not a path", 5)
case("backbones.load_application", "name", "unknown", "VGG16")
case("backbones.load_application", "name", "a list", ["ResNet50"])
case("backbones.load_application", "weights_dir", "not a path", "ResNet50", 5)
case("backbones.load_application", "download", "download=str", "ResNet50", download="yes")
case("backbones.load_applications", "names", "a str", "ResNet50")
case("backbones.load_applications", "names", "unknown", ["VGG16"])
case("backbones.load_applications", "report", "not callable", report="print")

# --- bounds ---------------------------------------------------------------------------------------------

SCORES = RNG.normal(size=8)
MATRIX = RNG.normal(size=(4, 4))
for label, values in [("NaN", spoilt(SCORES, NAN)), ("empty", np.zeros(0)), ("strings", np.full(8, "a"))]:
    for name in ("dv", "nwj", "js_fgan", "smile", "smile_objective"):
        case(f"bounds.{name}", "joint", label, values, SCORES)
        case(f"bounds.{name}", "marginal", label, SCORES, values)
    case("bounds.logmeanexp", "values", label, values)
    case("bounds.mine_surrogate", "joint", label, values, SCORES, NAN)
for name in ("smile", "smile_objective"):
    case(f"bounds.{name}", "clip", "clip=-1", SCORES, SCORES, clip=-1.0)
for name in ("infonce", "split_scores"):
    case(f"bounds.{name}", "scores", "rank 1", SCORES)
    case(f"bounds.{name}", "scores", "not square", MATRIX[:3])
    case(f"bounds.{name}", "scores", "NaN", spoilt(MATRIX, NAN))
case("bounds.mine_surrogate", "rate", "rate=0", SCORES, SCORES, NAN, rate=0.0)
case("bounds.mine_surrogate", "rate", "rate=1.5", SCORES, SCORES, NAN, rate=1.5)

# --- classical ------------------------------------------------------------------------------------------

samples("classical.ksg", "x", X, BAD, Y)
samples("classical.ksg", "y", Y, X, BAD)
case("classical.ksg", "y", "wrong length", X, Y[:10])
case("classical.ksg", "k", "k=0", X, Y, k=0)
case("classical.ksg", "k", "k=n", X, Y, k=64)
case("classical.ksg", "seed", "seed=-1", X, Y, seed=-1)
samples("classical.binning", "t", X, BAD, np.arange(64) % 2)
case("classical.binning", "labels", "wrong length", X, np.arange(10))
case("classical.binning", "labels", "NaN", X, spoilt(np.arange(64), NAN))
case("classical.binning", "bins", "bins=0", X, np.arange(64), bins=0)
case("classical.binning", "value_range", "reversed", X, np.arange(64), value_range=(1, -1))
case("classical.binning", "value_range", "strings", X, np.arange(64), value_range="ab")
for name in ("kde_bounds", "sample_propagation"):
    samples(f"classical.{name}", "t", X, BAD, 1.0)
    for label, sigma in [("sigma=-1", -1.0), ("sigma=0", 0.0), ("sigma=NaN", NAN), ("sigma=str", "1")]:
        case(f"classical.{name}", "sigma", label, X, sigma)
case("classical.sample_propagation", "noise_draws", "noise_draws=0", X, 1.0, 0)
case("classical.sample_propagation", "seed", "seed=-1", X, 1.0, seed=-1)

# --- critics --------------------------------------------------------------------------------------------

case("critics.mlp", "hidden", "hidden=(0,)", (0,), 1)
case("critics.mlp", "hidden", "hidden=str", "64", 1)
case("critics.mlp", "outputs", "outputs=0", (4,), 0)
case("critics.mlp", "activation", "activation=nope", (4,), 1, activation="nope")
case("critics.mlp", "seed", "seed=-1", (4,), 1, seed=-1)
for name in ("ConcatCritic", "SeparableCritic", "GaussianResidualCritic"):
    case(f"critics.{name}", "hidden", "hidden=(0,)", hidden=(0,))
    case(f"critics.{name}", "activation", "activation=nope", activation="nope")
    case(f"critics.{name}", "seed", "seed=-1", seed=-1)
case("critics.SeparableCritic", "embedding", "embedding=0", embedding=0)
for label, name, value in [
    ("sigma=-1", "sigma", -1.0),
    ("sigma=NaN", "sigma", NAN),
    ("mode=nope", "mode", "nope"),
    ("y_std=0", "y_std", np.zeros(2)),
    ("y_mean=NaN", "y_mean", np.array([NAN, 0.0])),
    ("layer not callable", "layer", "dense"),
    ("hidden=(0,)", "hidden", (0,)),
]:
    arguments = dict(layer=IDENTITY, sigma=0.1, y_mean=np.zeros(2), y_std=np.ones(2), hidden=(4,))
    case("critics.ArchitectureAwareCritic", name, label, **{**arguments, name: value})
case("critics.check_activation", "activation", "unknown", "nope")
case("critics.check_critic", "critic", "unknown", "nope")
case("critics.check_critic", "critic", "not a critic", 3)
case("critics.make_critic", "critic", "unknown", "nope", 2, 1)
case("critics.make_critic", "critic", "not a critic", 3, 2, 1)
case("critics.make_critic", "dim_x", "dim_x=0", "concat", 0, 1, hidden=(4,))
case("critics.make_critic", "dim_y", "dim_y=0", "concat", 2, 0, hidden=(4,))
case("critics.make_critic", "hidden", "hidden=(0,)", "concat", 2, 1, hidden=(0,))
case("critics.make_critic", "activation", "activation=nope", "concat", 2, 1, (4,), activation="nope")
case("critics.StackedConcatCritic", "critics", "empty", [])
case("critics.StackedConcatCritic", "critics", "not critics", ["a", "b"])

# --- data -----------------------------------------------------------------------------------------------

for bits in (0, 25, "12", True, 1.5):
    case("data.all_patterns", "bits", f"bits={bits!r}", bits)
case("data.find_fashion_mnist", "directory", "not a path", 5)
case("data.load_fashion_mnist", "directory", "not a path", 5)
case("data.load_fashion_mnist", "download", "download=str", download="yes")
for label, name, value in [
    ("per_class=0", "per_class", 0),
    ("per_class=-1", "per_class", -1),
    ("size=0", "size", 0),
    ("seed=-1", "seed", -1),
    ("directory=5", "directory", 5),
]:
    case("data.load_cats_vs_dogs", name, label, **{name: value})

# --- estimators -----------------------------------------------------------------------------------------

samples("estimators.estimate", "x", X, BAD, Y, **TINY)
samples("estimators.estimate", "y", Y, X, BAD, **TINY)
case("estimators.estimate", "y", "wrong length", X, Y[:40], **TINY)
case("estimators.estimate", "bound", "bound=nope", X, Y, bound="nope", **TINY)
case("estimators.estimate", "critic", "critic=nope", X, Y, critic="nope", **TINY)
case("estimators.estimate", "critic", "critic=list", X, Y, critic=["concat"], **TINY)
options("estimators.estimate", X, Y)
samples("estimators.estimate_many", "xs[0]", X, [BAD], [Y], seeds=[0], **TINY)
case("estimators.estimate_many", "xs", "empty", [], [], seeds=[], **TINY)
case("estimators.estimate_many", "seeds", "wrong length", [X], [Y], seeds=[0, 1], **TINY)
case("estimators.estimate_many", "ys[0]", "wrong length", [X], [Y[:40]], seeds=[0], **TINY)
case("estimators.estimate_many", "seeds", "seeds=[-1]", [X], [Y], seeds=[-1], **TINY)
case("estimators.estimate_many", "seeds", "seeds=['a']", [X], [Y], seeds=["a"], **TINY)
options("estimators.estimate_many", [X], [Y], bad_seeds=False, seeds=[0])
samples("estimators.estimate_noisy_layer", "x", X, BAD, IDENTITY, 0.1, **TINY)
for label, sigma in [("sigma=-1", -1.0), ("sigma=0", 0.0), ("sigma=NaN", NAN), ("sigma=str", "0.1")]:
    case("estimators.estimate_noisy_layer", "sigma", label, X, IDENTITY, sigma, **TINY)
case("estimators.estimate_noisy_layer", "layer", "not callable", X, "dense", 0.1, **TINY)
case("estimators.estimate_noisy_layer", "critic", "critic=nope", X, IDENTITY, 0.1, critic="nope", **TINY)
options("estimators.estimate_noisy_layer", X, IDENTITY, 0.1)
for label, name, value in [
    ("clip=-1", "clip", -1.0),
    ("hidden=(0,)", "hidden", (0,)),
    ("activation=nope", "activation", "nope"),
    ("learning_rate=inf", "learning_rate", INF),
    ("learning_rate=True", "learning_rate", True),
    ("heldout=1.5", "heldout", 1.5),
]:
    case("estimators.Options", name, label, **{name: value})
case("estimators.Options.of", "stepz", "unknown option stepz", {"stepz": 3})
case("estimators.Options.of", "clip", "clip=-1", {"clip": -1.0})
case("estimators.Estimate.interval", "level", "level=1.5", SimpleNamespace(value=1.0, stderr=0.1), 1.5)
case("estimators.Estimate.interval", "level", "level=NaN", SimpleNamespace(value=1.0, stderr=0.1), NAN)
samples("estimators.ChosenCritic.evaluate", "x", X, None, BAD, Y)
case("estimators.ChosenCritic.evaluate", "y", "wrong length", None, X, Y[:9])

# --- flow -----------------------------------------------------------------------------------------------

for label, beta in [("beta=-1", -1.0), ("beta=NaN", NAN), ("beta=str", "1")]:
    case("flow.Flow.matrices", "beta", label, beta, on=FLOW)
    case("flow.flow_graph", "beta", label, FLOW, beta)
case("flow.flow_graph", "flow", "not a Flow", "flow")
for label, z in [("z=-1", -1.0), ("z=NaN", NAN), ("z=str", "2")]:
    case("flow.Flow.resolved", "z", label, z, on=FLOW)
    case("flow.Flow.matrices", "z", label, 0.0, z, on=FLOW)
    case("flow.flow_graph", "z", label, FLOW, 0.0, z)
case("flow.Flow.resolved", "stderr", "no stderr", 2.0, on=FLOW)
case("flow.activations", "model", "not a model", "model", XC)
samples("flow.activations", "x", XC, CLASSIFIER, BAD)
LAYERS = [X, RNG.normal(size=(64, 2))]
FLOW_TINY = dict(feature_pairs=False, **TINY)
case("flow.neuron_flows", "activations", "one layer", LAYERS[:1], **FLOW_TINY)
case("flow.neuron_flows", "activations[1]", "wrong length", [X, X[:10]], **FLOW_TINY)
samples("flow.neuron_flows", "activations[0]", X, [BAD, X], **FLOW_TINY)
case("flow.neuron_flows", "names", "wrong sizes", LAYERS, names=[["a"], ["b"]], **FLOW_TINY)
options("flow.neuron_flows", LAYERS, extra=FLOW_TINY)
for name in ("attribution", "zero_flow_neurons", "betweenness", "communities"):
    for label, graph in [
        ("not a graph", "graph"),
        ("empty", nx.DiGraph()),
        ("undirected", nx.Graph([(0, 1)])),
    ]:
        case(f"flow.{name}", "graph", label, graph)
case("flow.communities", "seed", "seed=-1", GRAPH, seed=-1)
case("flow.communities", "seed", "seed=str", GRAPH, seed="a")
case("flow.draw_flow_graph", "graph", "not a graph", "graph", AXES)
case("flow.draw_flow_graph", "ax", "not axes", GRAPH, "ax")
case("flow.draw_flow_graph", "seed", "seed=-1", GRAPH, AXES, seed=-1)
case("flow.draw_flow_graph", "title", "title=5", GRAPH, AXES, title=5)

# --- infoplane ------------------------------------------------------------------------------------------

for label, name, value in [
    ("hidden=()", "hidden", ()),
    ("hidden=(10, 0)", "hidden", (10, 0)),
    ("hidden=5", "hidden", 5),
    ("hidden=str", "hidden", "10"),
    ("activation=nope", "activation", "nope"),
    ("train_fraction=1", "train_fraction", 1.0),
    ("train_fraction=NaN", "train_fraction", NAN),
    ("epochs=0", "epochs", 0),
    ("records=0", "records", 0),
    ("batch_size=0", "batch_size", 0),
    ("learning_rate=inf", "learning_rate", INF),
    ("learning_rate=NaN", "learning_rate", NAN),
    ("learning_rate=True", "learning_rate", True),
    ("learning_rate=-1", "learning_rate", -1.0),
    ("learning_rate=str", "learning_rate", "1e-3"),
    ("repeated seeds", "seeds", (1, 1)),
    ("seeds=(-1,)", "seeds", (-1,)),
    ("seeds=3", "seeds", 3),
    ("seeds=str", "seeds", ("a",)),
]:
    case("infoplane.TrainingConfig", name, label, **{name: value})
K, N, WIDTHS = 2, 5, (3, 4, 2)
NETWORK = dict(
    weights=[RNG.normal(size=(K, a, b)) for a, b in zip(WIDTHS[:-1], WIDTHS[1:], strict=True)],
    biases=[np.zeros((K, b)) for b in WIDTHS[1:]],
    x=RNG.normal(size=(K, N, WIDTHS[0])),
    y_onehot=np.eye(2)[np.zeros((K, N), int)],
    activation="tanh",
)
for label, name, value in [
    ("activation=nope", "activation", "nope"),
    ("x NaN", "x", spoilt(NETWORK["x"], NAN)),
    ("x rank 2", "x", NETWORK["x"][0]),
    ("x strings", "x", np.full(NETWORK["x"].shape, "a")),
    ("weights do not chain", "weights", NETWORK["weights"][::-1]),
    ("weights=[]", "weights", []),
    ("biases NaN", "biases", [spoilt(NETWORK["biases"][0], NAN), NETWORK["biases"][1]]),
    ("y_onehot wrong shape", "y_onehot", NETWORK["y_onehot"][:, :3]),
]:
    case("infoplane.loss_and_gradients", name, label, **{**NETWORK, name: value})
CONFIG = Later(lambda: module("infoplane").TrainingConfig(epochs=2, records=2, seeds=(0,)))
X12, Y12 = Later(lambda: TASK.make().x), Later(lambda: TASK.make().y)
samples("infoplane.record_training", "x", np.zeros((4096, 12)), CONFIG, BAD, Y12, cache=False)
for label, name, value in [
    ("config=dict", "config", {"epochs": 3}),
    ("y wrong length", "y", np.zeros(10, int)),
    ("y not binary", "y", np.full(4096, 2)),
    ("y NaN", "y", spoilt(np.zeros(4096), NAN)),
    ("y strings", "y", np.full(4096, "a")),
    ("cache=str", "cache", "yes"),
    ("progress=str", "progress", "no"),
    ("directory=5", "directory", 5),
    ("checkpoint_seconds=-1", "checkpoint_seconds", -1.0),
    ("checkpoint_seconds=NaN", "checkpoint_seconds", NAN),
    ("on_checkpoint=str", "on_checkpoint", "print"),
]:
    arguments = dict(config=CONFIG, x=X12, y=Y12, cache=name == "directory")
    case("infoplane.record_training", name, label, **{**arguments, name: value})
samples("infoplane.Recording.activations", "x", np.zeros((8, 12)), BAD, on=RECORDING)
case("infoplane.Recording.activations", "x", "5 columns", np.zeros((8, 5)), on=RECORDING)
case("infoplane.Recording.activations", "seed_index", "seed_index=5", np.zeros((8, 12)), 5, on=RECORDING)
case(
    "infoplane.Recording.activations",
    "record_index",
    "record_index=99",
    np.zeros((8, 12)),
    0,
    99,
    on=RECORDING,
)
case("infoplane.Recording.layer_model", "layer", "layer=99", 99, on=RECORDING)
case("infoplane.Recording.layer_model", "layer", "layer=True", True, on=RECORDING)
case("infoplane.Recording.layer_model", "seed_index", "seed_index=str", 0, "a", on=RECORDING)

# --- results --------------------------------------------------------------------------------------------

case("results.record", "chapter", "chapter=../escape", "../escape", "quick", a=1)
case("results.record", "chapter", "chapter=5", 5, "quick", a=1)
case("results.record", "profile", "profile=medium", "03", "medium", a=1)
case("results.record", "values", "no values", "03", "quick")
for label, value in [("str", "high"), ("NaN", NAN), ("inf", INF), ("True", True)]:
    case("results.record", "a", f"value {label}", "03", "quick", a=value)

# --- settings -------------------------------------------------------------------------------------------

case("settings.profile", "name", "unknown", "fast")
case("settings.profile", "name", "not a str", 5)
for seed in (-1, "a", True, 2**40):
    case("settings.seed_everything", "seed", f"seed={seed!r}", seed)
    case("settings.setup", "seed", f"seed={seed!r}", seed=seed, verbose=False)
case("settings.banner", "prof", "a name", "quick")
case("settings.setup", "profile_name", "unknown", profile_name="fast", verbose=False)
case("settings.setup", "profile_name", "not a str", profile_name=5, verbose=False)
case("settings.setup", "verbose", "verbose=str", profile_name="quick", verbose="no")

# --- truth ----------------------------------------------------------------------------------------------

for name, before, after in [
    ("gaussian_mi", (), {}),
    ("gaussian_samples", (10,), {}),
    ("student_t_mi", (), {"df": 3.0}),
    ("student_t_samples", (10,), {"df": 3.0}),
]:
    matrix = "cov" if name.startswith("gaussian") else "scale"
    for label, value in [
        ("NaN", spoilt(COV, NAN)),
        ("not square", COV[:1]),
        ("not symmetric", np.array([[1.0, 0.5], [0.0, 1.0]])),
        ("strings", np.full((2, 2), "a")),
        ("singular", np.ones((2, 2))),
    ]:
        case(f"truth.{name}", matrix, label, *before, value, 1, **after)
    case(f"truth.{name}", "dim_x", "dim_x=0", *before, COV, 0, **after)
    case(f"truth.{name}", "dim_x", "dim_x=2", *before, COV, 2, **after)
    if "df" in after:
        for label, df in [("df=0", 0.0), ("df=NaN", NAN), ("df=str", "3")]:
            case(f"truth.{name}", "df", label, *before, COV, 1, df=df)
for name, arguments in [
    ("gaussian_samples", (COV, 1)),
    ("student_t_samples", (COV, 1, 3.0)),
    ("correlated_gaussians", (2, 0.5)),
]:
    case(f"truth.{name}", "n", "n=0", 0, *arguments)
    case(f"truth.{name}", "seed", "seed=-1", 10, *arguments, seed=-1)
case("truth.student_t_correction", "df", "df=-1", -1.0, 1, 1)
case("truth.student_t_correction", "dim_x", "dim_x=0", 3.0, 0, 1)
case("truth.student_t_correction", "dim_y", "dim_y=0", 3.0, 1, 0)
case("truth.correlated_gaussians", "dim", "dim=0", 10, 0, 0.5)
case("truth.correlated_gaussians", "rho", "rho=1", 10, 2, 1.0)
case("truth.correlated_gaussians", "rho", "rho=NaN", 10, 2, NAN)
case("truth.correlated_gaussians_mi", "dim", "dim=0", 0, 0.5)
case("truth.correlated_gaussians_mi", "rho", "rho=-1", 2, -1.0)
case("truth.correlated_gaussians_mi", "rho", "rho=str", 2, "0.5")
case("truth.noisy_linear_mi", "a", "NaN", spoilt(COV, NAN), 1.0)
case("truth.noisy_linear_mi", "a", "strings", np.full((2, 2), "a"), 1.0)
case("truth.noisy_linear_mi", "sigma", "sigma=-1", COV, -1.0)
case("truth.noisy_linear_mi", "cov", "wrong size", COV, 1.0, np.eye(3))
samples("truth.linear_regression_weights_mi", "x", X, BAD, 1.0, 1.0)
case("truth.linear_regression_weights_mi", "prior_variance", "prior_variance=-1", X, -1.0, 1.0)
case("truth.linear_regression_weights_mi", "noise_variance", "noise_variance=0", X, 1.0, 0.0)
for label, name, value in [
    ("stds negative", "stds", (1.0, -1.0)),
    ("stds NaN", "stds", (1.0, NAN)),
    ("weights do not sum to 1", "weights", (0.5, 0.6)),
    ("weights NaN", "weights", (0.5, NAN)),
    ("means not 2-D", "means", ((0.0,), (1.0,))),
    ("labels negative", "labels", (0, -1)),
    ("labels with a gap", "labels", (0, 2)),
    ("labels not integers", "labels", (0.5, 1.0)),
    ("labels too many", "labels", (0, 1, 1)),
]:
    arguments = dict(labels=(0, 1), weights=(0.5, 0.5), means=((0.0, 0.0), (1.0, 1.0)), stds=(1.0, 1.0))
    case("truth.MixtureTask", name, label, **{**arguments, name: value})
case("truth.MixtureTask.sample", "n", "n=0", 0, on=MIXTURE)
case("truth.MixtureTask.sample", "seed", "seed=-1", 10, seed=-1, on=MIXTURE)
case("truth.MixtureTask.monte_carlo_mi", "n", "n=0", 0, on=MIXTURE)
case("truth.MixtureTask.mutual_information", "tol", "tol=-1", tol=-1.0, on=MIXTURE)
samples("truth.MixtureTask.log_joint", "x", X, BAD, on=MIXTURE)
case("truth.MixtureTask.log_joint", "x", "3 columns", np.zeros((4, 3)), on=MIXTURE)
samples("truth.MixtureTask.pointwise_mi", "x", X, BAD, np.zeros(64, int), on=MIXTURE)
case("truth.MixtureTask.pointwise_mi", "z", "wrong length", X, np.zeros(10, int), on=MIXTURE)
case("truth.MixtureTask.pointwise_mi", "z", "unknown class", X, np.full(64, 5), on=MIXTURE)

# --- weights_info ---------------------------------------------------------------------------------------

case("weights_info.prior_from_heldout", "model", "not a model", "model", WEIGHTS)
case("weights_info.prior_from_heldout", "heldout_weights", "NaN", CLASSIFIER, NAN_WEIGHTS)
case("weights_info.prior_from_heldout", "heldout_weights", "strings", CLASSIFIER, ["a", "b"])
case("weights_info.prior_from_heldout", "heldout_weights", "too few", CLASSIFIER, [np.zeros((3, 4))])
case("weights_info.prior_from_heldout", "floor", "floor=-1", CLASSIFIER, WEIGHTS, floor=-1.0)
for name in ("per_sample_gradients", "information_in_weights", "sample_gibbs_posterior"):
    arguments = dict(
        model=CLASSIFIER, x=XC, y=YC, **({} if name == "per_sample_gradients" else {"prior": PRIOR})
    )
    if name == "sample_gibbs_posterior":
        arguments.update(steps=2, batch=4)
        for label, argument, value in [
            ("beta=0", "beta", 0.0),
            ("steps=0", "steps", 0),
            ("batch=0", "batch", 0),
            ("step_size=NaN", "step_size", NAN),
            ("final_step_size=-1", "final_step_size", -1.0),
            ("record_every=-1", "record_every", -1),
            ("burn_in=steps", "burn_in", 2),
        ]:
            case(f"weights_info.{name}", argument, label, **{**arguments, argument: value})
    samples(f"weights_info.{name}", "x", XC, **{**arguments, "x": BAD})
    for label, argument, value in [
        ("model not a model", "model", "model"),
        ("x wrong shape", "x", np.zeros((16, 5))),
        ("y wrong length", "y", np.zeros(9, int)),
        ("y strings", "y", np.full(16, "a")),
        ("y out of range", "y", np.full(16, 7)),
        ("loss=hinge", "loss", "hinge"),
        ("noise_variance=-1", "noise_variance", -1.0),
        ("noise_variance=NaN", "noise_variance", NAN),
    ]:
        case(f"weights_info.{name}", argument, label, **{**arguments, argument: value})
    if name == "per_sample_gradients":
        case(f"weights_info.{name}", "chunk", "chunk=0", **arguments, chunk=0)
        continue
    for label, argument, value in [
        ("seed=-1", "seed", -1),
        ("seed=str", "seed", "a"),
        ("prior not a prior", "prior", "prior"),
        (
            "prior mean NaN",
            "prior.mean[0]",
            Later(lambda: module("weights_info").GaussianPrior(tuple(NAN_WEIGHTS.make()), (1.0, 1.0))),
        ),
        (
            "prior variance negative",
            "prior.variance[1]",
            Later(lambda: module("weights_info").GaussianPrior(tuple(WEIGHTS.make()), (1.0, -1.0))),
        ),
    ]:
        key = argument.split(".")[0]
        case(f"weights_info.{name}", argument, label, **{**arguments, key: value})
case(
    "weights_info.information_in_weights",
    "fisher_samples",
    "fisher_samples=0",
    CLASSIFIER,
    XC,
    YC,
    PRIOR,
    fisher_samples=0,
)
for label, information in [("strings", "a"), ("NaN", NAN), ("negative", -1.0), ("empty", [])]:
    case("weights_info.generalisation_bound", "information", label, information, 10)
case("weights_info.generalisation_bound", "n", "n=0", 1.0, 0)
case("weights_info.generalisation_bound", "sigma", "sigma=-1", 1.0, 10, sigma=-1.0)


# --- the tests ------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def nothing_written_in_the_project(tmp_path, monkeypatch):
    """Where a check is missing a call may store something: in a temporary folder, not the project."""
    monkeypatch.setenv("MI_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("MI_RESULTS_DIR", str(tmp_path / "results"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.delenv("MI_CATS_VS_DOGS_DIR", raising=False)
    monkeypatch.delenv("MI_IMAGENET_WEIGHTS_DIR", raising=False)


@pytest.mark.parametrize("target, argument, call", CASES)
def test_bad_input_is_a_value_error_naming_the_argument(target, argument, call):
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    named = re.search(rf"(?<!\w){re.escape(argument)}(?!\w)", message)
    assert named, f"{target}: the message does not name {argument!r}: {message!r}"


def test_numpy_numbers_pass_where_plain_numbers_do():
    config = module("infoplane").TrainingConfig(learning_rate=np.float32(1e-3), epochs=np.int64(3))
    assert config.learning_rate == pytest.approx(1e-3) and type(config.learning_rate) is float
    pretraining = module("backbones").PretrainConfig(learning_rate=np.float64(1e-3), classes=np.arange(2))
    assert pretraining.classes == (0, 1) and type(pretraining.learning_rate) is float


# Public callables that take input and have no case, each with the reason.
NOT_CHECKED = {
    "backbones.Application": "a row of the APPLICATIONS table, written in the library",
    "backbones.Pretrained": "a result, made by pretrain",
    "critics.PairCritic": "an abstract base; the critics built on it are checked",
    "data.Unavailable": "an exception",
    "data.BitTask": "a result, made by tishby_12bit",
    "data.FashionMNIST": "a result, made by load_fashion_mnist (pretrain checks the one it is given)",
    "estimators.Estimate": "a result, made by the estimators",
    "estimators.ChosenCritic": "a result, made by the estimators",
    "estimators.Options.graph_key": "the key of the compiled-graph cache, from shapes the estimators made",
    "flow.Flow": "a result, made by neuron_flows",
    "infoplane.Recording": "a result, made by record_training",
    "settings.Profile": "a row of the PROFILES table, written in the library",
    "weights_info.GaussianPrior": "checked where it is used: see the prior cases of information_in_weights",
    "weights_info.WeightsInformation": "a result, made by information_in_weights",
}


def takes_input(function):
    try:
        parameters = inspect.signature(function).parameters
    except (TypeError, ValueError):
        return True
    return any(name not in ("self", "cls") for name in parameters)


def public_modules():
    """{path inside mi_lib: module} for every public module of mi_lib, and every public module of
    its packages (``infoplane.network``)."""
    found = {}
    for info in pkgutil.iter_modules(mi_lib.__path__):
        if info.name.startswith("_"):
            continue
        found[info.name] = module(info.name)
        if info.ispkg:
            for inner in pkgutil.iter_modules(found[info.name].__path__):
                if not inner.name.startswith("_"):
                    found[f"{info.name}.{inner.name}"] = module(f"{info.name}.{inner.name}")
    return found


def public_callables():
    """{path inside mi_lib: callable} for every public function and class defined in mi_lib and its
    public modules, and every public method of those classes (not of Keras layers: their call,
    pairs and matrix run inside compiled training steps, on data the estimators checked). A name
    that a package re-exports has the package's path, the one users call it by (``backbones.pretrain``,
    defined in ``backbones.pretraining``)."""
    found = {
        name: value
        for name, value in vars(mi_lib).items()
        if not name.startswith("_") and inspect.isfunction(value) and value.__module__ == "mi_lib"
    }
    for path, mod in public_modules().items():
        package = path.split(".")[0]
        for name, value in vars(mod).items():
            if (
                name.startswith("_")
                or not callable(value)
                or getattr(value, "__module__", None) != mod.__name__
            ):
                continue
            owner = package if getattr(module(package), name, None) is value else path
            found[f"{owner}.{name}"] = value.__init__ if inspect.isclass(value) else value
            if inspect.isclass(value) and not hasattr(value, "add_weight"):
                for method, member in vars(value).items():
                    if isinstance(member, (classmethod, staticmethod)):
                        member = member.__func__
                    if not method.startswith("_") and inspect.isfunction(member):
                        found[f"{owner}.{name}.{method}"] = member
    return found


def test_every_public_callable_has_a_case():
    covered = {param.values[0] for param in CASES}
    missing = sorted(
        path
        for path, function in public_callables().items()
        if path not in covered and path not in NOT_CHECKED and takes_input(function)
    )
    assert not missing, f"public callables with no bad-input case in tests/test_input_checks.py: {missing}"
