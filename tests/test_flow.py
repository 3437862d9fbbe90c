"""mi_lib.flow: the NIF graph, its attribution and its zero-flow neurons on hand-made networks whose
answers are known, MINE's flows against Gaussian closed forms, and the input checks."""

import dataclasses
import itertools

import keras
import networkx as nx
import numpy as np
import pytest

from mi_lib import flow
from mi_lib.flow import Flow


def hand_made_flow():
    """Two inputs -> three hidden neurons -> two outputs, flows set by hand (nats):
    x0 -> h0 -> y0 is an identity path of 1 nat per edge; h1 is a dead unit (constant);
    x1 feeds h2 with 0.5 and h2 feeds both outputs with 0.25 and 2.0."""
    first = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.5]])
    second = np.array([[1.0, 0.0], [0.0, 0.0], [0.25, 2.0]])
    constant = (np.zeros(2, bool), np.array([False, True, False]), np.zeros(2, bool))
    names = (("x0", "x1"), ("h0", "h1", "h2"), ("y0", "y1"))
    return Flow((2, 3, 2), (first, second), constant, np.array([[0.0, 0.3], [0.3, 0.0]]), names)


def test_graph_has_one_node_per_neuron_and_an_edge_per_positive_flow():
    g = flow.flow_graph(hand_made_flow())
    assert g.number_of_nodes() == 2 + 3 + 2
    assert sorted(g.edges) == [
        ((0, 0), (1, 0)),
        ((0, 1), (1, 2)),
        ((1, 0), (2, 0)),
        ((1, 2), (2, 0)),
        ((1, 2), (2, 1)),
    ]
    assert all(d["weight"] > 0 and d["distance"] == 1 / d["weight"] for _, _, d in g.edges(data=True))
    assert g.nodes[(1, 1)]["constant"] and g.degree((1, 1)) == 0
    assert g.nodes[(2, 1)]["label"] == "y1"


def test_attribution_sums_flow_products_over_paths():
    g = flow.flow_graph(hand_made_flow())
    expected = np.array([[1.0 * 1.0, 0.0], [0.5 * 0.25, 0.5 * 2.0]])
    np.testing.assert_allclose(flow.attribution(g), expected)
    # the same by explicit enumeration of every directed path
    for i, j in itertools.product(range(2), range(2)):
        total = sum(
            np.prod([g.edges[u, v]["weight"] for u, v in itertools.pairwise(path)])
            for path in nx.all_simple_paths(g, (0, i), (2, j))
        )
        assert flow.attribution(g)[i, j] == pytest.approx(total)


def test_the_dead_unit_is_the_only_zero_flow_neuron():
    assert flow.zero_flow_neurons(flow.flow_graph(hand_made_flow())) == [(1, 1)]


def test_beta_adds_the_feature_term_to_live_first_layer_flows_only():
    f = hand_made_flow()
    first = f.matrices(beta=2.0)[0]
    # every input shares 0.3 nats with the other one: + 2 * 0.3 on the edges into live h0 and h2
    np.testing.assert_allclose(first, [[1.6, 0.0, 0.6], [0.6, 0.0, 1.1]])
    assert flow.zero_flow_neurons(flow.flow_graph(f, beta=2.0)) == [(1, 1)]
    assert f.matrices(0.0)[0] is f.mi[0]


def test_resolved_flows_are_those_above_z_standard_errors():
    f = dataclasses.replace(
        hand_made_flow(),
        stderr=(np.full((2, 3), 0.2), np.array([[0.2, 0.0], [0.0, 0.0], [0.2, 0.2]])),
    )
    # 1.0 and 2.0 nats exceed 2 x 0.2; the 0.25 and 0.5 flows do not (0.5 > 0.4 does: x1 -> h2 stays)
    resolved = f.resolved(2.0)
    assert resolved[0].tolist() == [[True, False, False], [False, False, True]]
    assert resolved[1].tolist() == [[True, False], [False, False], [False, True]]
    g = flow.flow_graph(f, z=2.0)
    assert sorted(g.edges) == [((0, 0), (1, 0)), ((0, 1), (1, 2)), ((1, 0), (2, 0)), ((1, 2), (2, 1))]
    assert g.number_of_nodes() == 7
    # the beta term goes to resolved edges only
    np.testing.assert_allclose(f.matrices(beta=2.0, z=2.0)[0], [[1.6, 0.0, 0.0], [0.0, 0.0, 1.1]])
    with pytest.raises(ValueError, match="resolved needs stderr"):
        hand_made_flow().resolved(2.0)


def test_betweenness_and_communities_cover_every_node():
    g = flow.flow_graph(hand_made_flow())
    central = flow.betweenness(g)
    assert set(central) == set(g.nodes)
    # only h0 and h2 lie inside a path; h2 carries two of the three inside paths
    assert central[(1, 2)] > central[(1, 0)] > 0 == central[(1, 1)]
    parts = flow.communities(g, seed=0)
    assert set(parts) == set(g.nodes)
    assert parts[(0, 0)] == parts[(1, 0)]  # the identity path is tied together by 1-nat edges


def gaussian_network():
    """x0, x1 ~ N(0, 1) independent. Hidden ReLU units: h0 = x0 + x1 + 20 and h1 = x0 - x1 + 20
    (always positive, so linear; independent of each other), h2 = relu(-x0 - x1 - 100) = 0, dead.
    Output o = h0 + 2 h1 + 5 h2. Gaussian closed forms: I(x_i; h_j) = 0.5 log 2,
    I(h0; o) = 0.5 log(1 + 2/8), I(h1; o) = 0.5 log(1 + 8/2)."""
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(1)]
    )
    model.layers[0].set_weights(
        [np.array([[1.0, 1.0, -1.0], [1.0, -1.0, -1.0]]), np.array([20.0, 20.0, -100.0])]
    )
    model.layers[1].set_weights([np.array([[1.0], [2.0], [5.0]]), np.zeros(1)])
    return model


def test_mine_flows_of_a_gaussian_network_match_the_closed_forms():
    x = np.random.default_rng(0).standard_normal((4_000, 2))
    layers = flow.activations(gaussian_network(), x)
    assert [a.shape for a in layers] == [(4_000, 2), (4_000, 3), (4_000, 1)]
    f = flow.neuron_flows(layers, seed=0, steps=1000, batch_size=256, eval_every=250, patience=4)
    half_log2 = 0.5 * np.log(2)
    truth_first = np.array([[half_log2, half_log2, 0.0], [half_log2, half_log2, 0.0]])
    truth_second = np.array([[0.5 * np.log(1.25)], [0.5 * np.log(5.0)], [0.0]])
    # 0.1 nats: four standard errors of a perfect critic on the 1,200 held-out pairs (for Gaussians
    # the pointwise MI has variance rho^2 <= 0.8, so one standard error is at most 0.026 nats) plus
    # a little critic error; a missing or spurious edge is off by 0.11 to 0.8 nats.
    np.testing.assert_allclose(f.mi[0], truth_first, atol=0.1)
    np.testing.assert_allclose(f.mi[1], truth_second, atol=0.1)
    assert f.constant[1].tolist() == [False, False, True]
    assert np.all(f.mi[0][:, 2] == 0) and np.all(f.mi[1][2] == 0)  # exactly: the dead unit needs no critic
    assert abs(f.feature_mi[0, 1]) < 0.1  # independent inputs
    g = flow.flow_graph(f)
    assert flow.zero_flow_neurons(g) == [(1, 2)]
    a = flow.attribution(g)
    expected = half_log2 * (0.5 * np.log(1.25) + 0.5 * np.log(5.0))
    np.testing.assert_allclose(a, [[expected], [expected]], rtol=0.25)
    # every flow has its standard error: exactly 0 for the dead unit's, and for the live ones of the
    # order of a perfect critic's on 1,200 held-out pairs (at most 0.026 nats, see above)
    assert [se.shape for se in f.stderr] == [m.shape for m in f.mi]
    assert np.all(f.stderr[0][:, 2] == 0) and np.all(f.stderr[1][2] == 0)
    live = np.concatenate([f.stderr[0][:, :2].ravel(), f.stderr[1][:2].ravel()])
    assert np.all((live > 0.005) & (live < 0.08)), f.stderr
    assert f.feature_stderr[0, 1] == f.feature_stderr[1, 0] > 0
    # at these sample sizes every true flow (0.11 nats and more) is resolved at z = 2, the dead
    # unit's never; the resolved graph is then the same as the point-estimate graph
    resolved = f.resolved(2.0)
    assert resolved[0][:, :2].all() and resolved[1][:2].all() and not resolved[0][:, 2].any()
    assert sorted(flow.flow_graph(f, z=2.0).edges) == sorted(g.edges)


def test_neuron_flows_is_deterministic_and_skips_feature_pairs_on_request():
    x = np.random.default_rng(1).standard_normal((600, 2))
    layers = flow.activations(gaussian_network(), x)
    options = dict(seed=3, steps=100, batch_size=64, eval_every=100, feature_pairs=False)
    first, second = flow.neuron_flows(layers, **options), flow.neuron_flows(layers, **options)
    for a, b in zip(first.mi, second.mi, strict=True):
        np.testing.assert_array_equal(a, b)
    assert first.feature_mi is None
    with pytest.raises(ValueError, match="beta > 0 needs feature_mi"):
        first.matrices(beta=0.1)


def test_bad_inputs_raise_value_errors_naming_the_argument():
    x = np.zeros((10, 2))
    with pytest.raises(ValueError, match="at least two layers"):
        flow.neuron_flows([x])
    with pytest.raises(ValueError, match=r"activations\[1\] has 9 samples"):
        flow.neuron_flows([x, np.zeros((9, 3))])
    with pytest.raises(ValueError, match=r"activations\[1\] contains NaN"):
        flow.neuron_flows([x, np.full((10, 1), np.nan)])
    with pytest.raises(ValueError, match="names must give one label per neuron"):
        flow.neuron_flows([x, np.zeros((10, 1))], names=(("a", "b"), ()))
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        flow.neuron_flows([x, np.zeros((10, 1))], seed=-1)
    with pytest.raises(ValueError, match="beta must be a non-negative"):
        hand_made_flow().matrices(beta=-0.5)
    with pytest.raises(ValueError, match="flow must be a mi_lib.flow.Flow"):
        flow.flow_graph({"mi": 1})
    with pytest.raises(ValueError, match="graph must be a non-empty networkx.DiGraph"):
        flow.attribution(nx.DiGraph())
    g = flow.flow_graph(hand_made_flow())
    g.edges[(0, 0), (1, 0)]["weight"] = -1.0
    with pytest.raises(ValueError, match="finite non-negative weight"):
        flow.attribution(g)
    with pytest.raises(ValueError, match="model must be a built keras Sequential"):
        flow.activations(object(), x)


def test_constant_layers_need_no_critic():
    # every hidden neuron constant: no pair is estimated and all flows are exactly zero
    x = np.random.default_rng(2).standard_normal((50, 2))
    f = flow.neuron_flows([x, np.ones((50, 3)), x[:, :1]], feature_pairs=False)
    assert all(np.all(m == 0) for m in f.mi)
    assert flow.zero_flow_neurons(flow.flow_graph(f)) == [(1, 0), (1, 1), (1, 2)]


def test_a_diverged_critic_is_an_unknown_flow_not_a_zero_one(monkeypatch):
    # Every critic of the batch but the first returns its value; the first diverged.
    real = flow.estimate_many

    def one_diverges(xs, ys, **kwargs):
        results = real(xs, ys, **kwargs)
        results[0] = dataclasses.replace(results[0], value=float("nan"), diverged=True)
        return results

    monkeypatch.setattr(flow, "estimate_many", one_diverges)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 2))
    layers = [x, np.tanh(x @ [[1.0], [0.5]])]
    with pytest.warns(RuntimeWarning, match="1 of 2 critics diverged"):
        f = flow.neuron_flows(layers, feature_pairs=False, steps=20, eval_every=10, batch_size=64)
    assert np.isnan(f.mi[0][0, 0]) and f.diverged[0][0, 0] and not f.diverged[0][1, 0]
    g = flow.flow_graph(f)
    assert not g.has_edge((0, 0), (1, 0)) and g.nodes[(0, 0)]["unknown_flow"]
