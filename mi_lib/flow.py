"""Neural information flow (NIF, Davis et al.): how much information passes between the neurons of a
feed-forward network, estimated with MINE, read as a directed weighted graph.

The flow from neuron i of layer l to neuron k of layer l + 1 is I(T_l,i; T_l+1,k) in nats, estimated
by MINE on the network's activations; every one-dimensional pair is one critic of a single
``estimate_many`` batch. A neuron that is constant on the data (a dead ReLU) shares no information
with anything: its flows are exactly 0, set without a critic. From the flows: a ``networkx`` graph
(one node per neuron, an edge for every positive flow), its betweenness centrality and Louvain
communities, the drawing of the paper's figure 1, and feature-to-class attribution by summing the
products of the flows along every directed path.

Every flow keeps its standard error over the held-out pairs (``Flow.stderr``), and the graph can be
built from the *resolved* flows only, those that exceed ``z`` standard errors: on small data sets
most flows between single neurons are not distinguishable from zero. The "flow" is a symmetric
pairwise MI, neither directional nor conserved; it counts redundant information once per source
and misses synergy among neurons, and the path products have units of nats^L: heuristics, not
information quantities.
"""

import warnings
from dataclasses import dataclass

import networkx as nx
import numpy as np

from mi_lib._checks import as_samples, seed32
from mi_lib.estimators import estimate_many


@dataclass(frozen=True)
class Flow:
    """Estimated flows of a network with layer sizes ``sizes`` (inputs first, outputs last).

    mi[l][i, k]: I(T_l,i; T_l+1,k) in nats (0 where either neuron is constant; negative held-out
        estimates are clipped to 0, the least an MI can be; NaN where the critic diverged: that
        flow is unknown, not zero).
    constant[l][i]: neuron i of layer l is constant on the data.
    feature_mi[i, j]: I(X_i; X_j) between input features (0 on the diagonal), for the paper's term
        for correlated inputs (see :meth:`matrices`); None when it was not estimated.
    stderr[l][i, k], feature_stderr[i, j]: the standard error of each estimate over its held-out
        pairs (delta method, of the estimate before clipping; 0 where a neuron is constant, NaN where
        the critic diverged); None when not known (a hand-made Flow).
    """

    sizes: tuple
    mi: tuple
    constant: tuple
    feature_mi: np.ndarray | None
    names: tuple  # names[l][i]: the label of neuron i of layer l
    stderr: tuple | None = None
    feature_stderr: np.ndarray | None = None

    @property
    def diverged(self):
        """diverged[l][i, k]: the critic of that pair diverged, so mi[l][i, k] is NaN."""
        return tuple(np.isnan(m) for m in self.mi)

    def resolved(self, z=2.0):
        """resolved[l][i, k]: the flow exceeds ``z`` of its standard errors (a one-sided test of
        "no flow" at about the 2.3% level for z = 2). Needs ``stderr``, which is conditional on the
        trained critics: it leaves out the spread over training runs and seeds."""
        z = _check_z(z)
        if self.stderr is None:
            raise ValueError("resolved needs stderr: estimate the flows with neuron_flows")
        with np.errstate(invalid="ignore"):
            return tuple((m > z * se) & np.isfinite(se) for m, se in zip(self.mi, self.stderr, strict=True))

    def matrices(self, beta=0.0, z=None):
        """The flow matrices of the graph. With ``beta`` > 0 the flow from input feature i into a
        live first-layer neuron k gains beta * sum_j I(X_i; X_j): NIF's term for the information
        that feature i shares with the other inputs. A constant neuron still receives nothing.
        With ``z``, only the resolved flows (see :meth:`resolved`) are kept; the others are 0
        (a diverged critic's flow stays NaN), and the beta term goes to resolved edges only."""
        if not (isinstance(beta, (int, float, np.floating)) and np.isfinite(beta) and beta >= 0):
            raise ValueError(f"beta must be a non-negative finite number, got {beta!r}")
        mi, keep = self.mi, None
        if z is not None:
            keep = self.resolved(z)
            mi = tuple(np.where(k | np.isnan(m), m, 0.0) for m, k in zip(mi, keep, strict=True))
        if beta == 0:
            return mi
        if self.feature_mi is None:
            raise ValueError(
                "beta > 0 needs feature_mi: estimate it with neuron_flows(..., feature_pairs=True)"
            )
        first = mi[0] + beta * self.feature_mi.sum(axis=1, keepdims=True)
        first = np.where(self.constant[1][None, :] | self.constant[0][:, None], 0.0, first)
        if keep is not None:
            first = np.where(keep[0] | np.isnan(mi[0]), first, 0.0)
        return (first, *mi[1:])


def _check_z(z):
    if (
        isinstance(z, bool)
        or not isinstance(z, (int, float, np.integer, np.floating))
        or not (np.isfinite(z) and z >= 0)
    ):
        raise ValueError(f"z must be a non-negative finite number of standard errors, got {z!r}")
    return float(z)


def activations(model, x):
    """[x, T_1, ..., T_L]: the inputs and the output of every layer of a Keras ``Sequential`` of
    Dense layers (the last is the network's output), as float64 arrays (n, units)."""
    import keras

    x = as_samples("x", x)
    layers = list(getattr(model, "layers", []))
    if not layers:
        raise ValueError("model must be a built keras Sequential model with at least one layer")
    outputs = [x]
    h = x.astype(np.float32)
    for layer in layers:
        h = np.asarray(keras.ops.convert_to_numpy(layer(h)), np.float32)
        outputs.append(h.astype(np.float64))
    return outputs


def _check_activations(layers):
    layers = list(layers)
    if len(layers) < 2:
        raise ValueError(f"activations must hold at least two layers (inputs and outputs), got {len(layers)}")
    arrays = [as_samples(f"activations[{layer}]", a) for layer, a in enumerate(layers)]
    n = len(arrays[0])
    for layer, a in enumerate(arrays):
        if len(a) != n:
            raise ValueError(f"activations[{layer}] has {len(a)} samples, activations[0] has {n}")
    return arrays


# The estimator options of neuron_flows where they differ from mi_lib.estimate's: each pair is
# one-dimensional, so smaller critics and fewer steps do.
FLOW_OPTIONS = dict(
    critic="concat",  # MINE, as NIF uses it
    hidden=(64, 64),
    steps=1000,
    batch_size=64,
    learning_rate=1e-3,
    heldout=0.3,
    eval_every=100,
    patience=3,
)


def neuron_flows(layers, *, names=None, feature_pairs=True, seed=0, progress=False, **options):
    """Estimate the flow between every pair of neurons in consecutive layers, and the MI between
    every pair of input features, with MINE: all one-dimensional pairs in one ``estimate_many`` batch.

    layers: [X, T_1, ..., T_L], each (n, units_l) on the same n samples (see :func:`activations`).
    names: optional labels, names[l][i] for neuron i of layer l.
    feature_pairs: also estimate I(X_i; X_j) for every pair of inputs (for ``Flow.matrices(beta)``).
    seed: the batch's seeds derive from it. The other options are those of ``mi_lib.estimate``,
        checked by it, with the defaults of ``FLOW_OPTIONS``.
    """
    arrays = _check_activations(layers)
    sizes = tuple(a.shape[1] for a in arrays)
    if names is None:
        names = tuple(tuple(f"{layer}.{i}" for i in range(s)) for layer, s in enumerate(sizes))
    else:
        names = tuple(tuple(str(v) for v in layer_names) for layer_names in names)
        if tuple(len(v) for v in names) != sizes:
            raise ValueError(
                f"names must give one label per neuron, sizes {sizes}, got {[len(v) for v in names]}"
            )
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    # A constant neuron shares no information with anything: I = 0 exactly, no critic needed.
    constant = tuple(np.ptp(a, axis=0) == 0 for a in arrays)
    pairs = []  # (where the value goes, x column, y column)
    for layer in range(len(arrays) - 1):
        for i in range(sizes[layer]):
            for k in range(sizes[layer + 1]):
                if not (constant[layer][i] or constant[layer + 1][k]):
                    pairs.append((("flow", layer, i, k), arrays[layer][:, i], arrays[layer + 1][:, k]))
    for i in range(sizes[0] if feature_pairs else 0):
        for j in range(i + 1, sizes[0]):
            if not (constant[0][i] or constant[0][j]):
                pairs.append((("feature", 0, i, j), arrays[0][:, i], arrays[0][:, j]))
    mi = [np.zeros((sizes[layer], sizes[layer + 1])) for layer in range(len(sizes) - 1)]
    stderr = [np.zeros_like(m) for m in mi]
    feature_mi = np.zeros((sizes[0], sizes[0])) if feature_pairs else None
    feature_stderr = np.zeros((sizes[0], sizes[0])) if feature_pairs else None
    if pairs:
        seeds = np.random.SeedSequence(seed).generate_state(len(pairs)) % (2**31 - 1)
        results = estimate_many(
            [p[1] for p in pairs],
            [p[2] for p in pairs],
            seeds=[int(s) for s in seeds],
            progress=progress,
            **{**FLOW_OPTIONS, **options},
        )
        failed = [
            where for (where, _, _), r in zip(pairs, results, strict=True) if r.diverged or np.isnan(r.value)
        ]
        if failed:
            warnings.warn(
                f"{len(failed)} of {len(pairs)} critics diverged (first: {failed[0]}); their flows are NaN, "
                "not 0: rerun with a smaller learning_rate or another seed",
                RuntimeWarning,
                stacklevel=2,
            )
        for (where, _, _), result in zip(pairs, results, strict=True):
            value = float("nan") if result.diverged else max(float(result.value), 0.0)
            se = float("nan") if result.diverged else float(result.stderr)
            kind, layer, i, k = where
            if kind == "flow":
                mi[layer][i, k], stderr[layer][i, k] = value, se
            else:
                feature_mi[i, k] = feature_mi[k, i] = value
                feature_stderr[i, k] = feature_stderr[k, i] = se
    return Flow(sizes, tuple(mi), constant, feature_mi, names, tuple(stderr), feature_stderr)


def flow_graph(flow, beta=0.0, z=None):
    """The NIF graph: a ``networkx.DiGraph`` with one node (layer, i) per neuron (attributes ``layer``,
    ``index``, ``label``, ``constant``) and an edge for every positive flow, with ``weight`` the flow
    in nats and ``distance`` = 1 / weight (a large flow is a short path, for betweenness). With
    ``z``, an edge only for every flow that exceeds z of its standard errors (see ``Flow.resolved``)."""
    if not isinstance(flow, Flow):
        raise ValueError(f"flow must be a mi_lib.flow.Flow, got {type(flow).__name__}")
    matrices = flow.matrices(beta, z)
    g = nx.DiGraph()
    for layer, size in enumerate(flow.sizes):
        for i in range(size):
            g.add_node(
                (layer, i),
                layer=layer,
                index=i,
                label=flow.names[layer][i],
                constant=bool(flow.constant[layer][i]),
            )
    for layer, m in enumerate(matrices):
        for i, k in zip(*np.nonzero(np.isnan(m)), strict=True):  # a diverged critic: no edge, flagged
            g.nodes[(layer, int(i))]["unknown_flow"] = g.nodes[(layer + 1, int(k))]["unknown_flow"] = True
        for i, k in zip(*np.nonzero(m > 0), strict=True):
            g.add_edge(
                (layer, int(i)), (layer + 1, int(k)), weight=float(m[i, k]), distance=1.0 / float(m[i, k])
            )
    return g


def _check_graph(graph):
    if not isinstance(graph, nx.DiGraph) or graph.number_of_nodes() == 0:
        raise ValueError("graph must be a non-empty networkx.DiGraph made by flow_graph")
    if any("layer" not in d for _, d in graph.nodes(data=True)):
        raise ValueError("graph nodes need a 'layer' attribute: build the graph with flow_graph")
    for u, v, d in graph.edges(data=True):
        w = d.get("weight")
        if w is None or not np.isfinite(w) or w < 0:
            raise ValueError(f"graph edge {u} -> {v} must have a finite non-negative weight, got {w!r}")
        if graph.nodes[v]["layer"] != graph.nodes[u]["layer"] + 1:
            raise ValueError(f"graph edge {u} -> {v} does not join consecutive layers")
    return max(d["layer"] for _, d in graph.nodes(data=True))


def _layer_nodes(graph, layer):
    return sorted(
        (n for n, d in graph.nodes(data=True) if d["layer"] == layer), key=lambda n: graph.nodes[n]["index"]
    )


def attribution(graph):
    """Feature-to-class attribution: A[i, j] = sum over every directed path P from input i to output
    j of the product of the flows on P's edges, in nats^L for L layers of edges. The sum over paths
    factorises layer by layer, so it is computed as a product of the layers' flow matrices."""
    last = _check_graph(graph)
    if last < 1:
        raise ValueError("graph must have at least two layers")
    layers = [_layer_nodes(graph, layer) for layer in range(last + 1)]
    total = np.eye(len(layers[0]))
    for layer in range(last):
        m = np.zeros((len(layers[layer]), len(layers[layer + 1])))
        for i, u in enumerate(layers[layer]):
            for k, v in enumerate(layers[layer + 1]):
                if graph.has_edge(u, v):
                    m[i, k] = graph.edges[u, v]["weight"]
        total = total @ m
    return total


def zero_flow_neurons(graph):
    """The hidden neurons through which no information flows: no positive flow in or no positive
    flow out. Removing them cannot change what the graph passes from inputs to outputs; but a live
    neuron whose flows were all clipped to 0 is not constant, so removing it from the network can
    change its predictions, even on the training data. A neuron with a diverged (unknown) flow is
    never reported."""
    last = _check_graph(graph)
    return [
        n
        for n, d in graph.nodes(data=True)
        if 0 < d["layer"] < last
        and not d.get("unknown_flow", False)
        and (graph.in_degree(n) == 0 or graph.out_degree(n) == 0)
    ]


def betweenness(graph):
    """Betweenness centrality of every node, shortest paths measured in ``distance`` = 1 / flow."""
    _check_graph(graph)
    return nx.betweenness_centrality(graph, weight="distance", normalized=True)


def communities(graph, seed=0):
    """Louvain communities of the graph read as undirected with the flows as weights (networkx's
    ``louvain_communities``), as a dict node -> community number, largest community first."""
    _check_graph(graph)
    seed = seed32("seed", seed)
    parts = nx.community.louvain_communities(graph.to_undirected(), weight="weight", seed=seed)
    parts = sorted(parts, key=lambda c: (-len(c), min(c)))
    return {node: c for c, part in enumerate(parts) for node in part}


def draw_flow_graph(graph, ax, seed=0, title=None):
    """The paper's figure 1: neurons in columns by layer, coloured by Louvain community, sized by
    betweenness centrality; arrows as thick as the flow. Constant (zero-flow) neurons are hollow."""
    import matplotlib.pyplot as plt

    last = _check_graph(graph)
    if not all(hasattr(ax, name) for name in ("annotate", "set_xticks", "spines")):
        raise ValueError(f"ax must be a matplotlib Axes, got {ax!r}")
    seed32("seed", seed)
    if title is not None and not isinstance(title, str):
        raise ValueError(f"title must be a str or None, got {title!r}")
    pos = {}
    for layer in range(last + 1):
        nodes = _layer_nodes(graph, layer)
        for r, n in enumerate(nodes):
            pos[n] = (layer, (len(nodes) - 1) / 2 - r)
    community = communities(graph, seed)
    centrality = betweenness(graph)
    colours = plt.get_cmap("tab10")
    nodes = list(graph.nodes)
    live = [n for n in nodes if graph.degree(n) > 0]
    dead = [n for n in nodes if graph.degree(n) == 0]
    sizes = [120 + 2500 * centrality[n] for n in live]
    nx.draw_networkx_nodes(
        graph,
        pos,
        nodelist=live,
        node_size=sizes,
        node_color=[colours(community[n] % 10) for n in live],
        ax=ax,
    )
    nx.draw_networkx_nodes(
        graph, pos, nodelist=dead, node_size=120, node_color="white", edgecolors="grey", linewidths=1.2, ax=ax
    )
    weights = np.array([d["weight"] for _, _, d in graph.edges(data=True)])
    if len(weights):
        widths = 0.3 + 4.0 * weights / weights.max()
        nx.draw_networkx_edges(
            graph, pos, width=widths, arrowsize=8, edge_color="0.35", alpha=0.8, ax=ax, node_size=200
        )
    for n in nodes:
        if graph.nodes[n]["layer"] in (0, last):
            x, y = pos[n]
            side = -0.12 if x == 0 else 0.12
            ha = "right" if x == 0 else "left"
            ax.annotate(graph.nodes[n]["label"], (x + side, y), ha=ha, va="center", fontsize=8)
    ax.set_xticks(range(last + 1))
    ax.set_xticklabels(["inputs"] + [f"hidden {layer}" for layer in range(1, last)] + ["outputs"])
    ax.tick_params(labelbottom=True)  # networkx hides tick labels when it draws nodes
    ax.set_yticks([])
    ax.set_xlim(-0.9, last + 0.9)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    if title:
        ax.set_title(title)
    return community, centrality
