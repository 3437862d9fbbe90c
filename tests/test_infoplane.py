"""The Tishby network: its gradient, its training, its record and the on-disk cache."""

import numpy as np
import pytest
import tensorflow as tf

from mi_lib import infoplane
from mi_lib.data import tishby_12bit
from mi_lib.infoplane import TrainingConfig, loss_and_gradients, record_training, write_atomically

TASK = tishby_12bit()
SMALL = TrainingConfig(epochs=60, records=8, seeds=(0, 1))


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_gradient_matches_tensorflow(activation):
    rng = np.random.default_rng(0)
    widths = (12, 10, 7, 5, 4, 3, 2)
    weights = [
        rng.normal(0, 1 / np.sqrt(a), (3, a, b)) for a, b in zip(widths[:-1], widths[1:], strict=False)
    ]
    biases = [rng.normal(0, 0.1, (3, b)) for b in widths[1:]]
    x = np.stack([TASK.x[rng.choice(4096, 64)] for _ in range(3)]).astype(np.float64)
    y = np.eye(2)[rng.integers(0, 2, (3, 64))]
    loss, grad_w, grad_b = loss_and_gradients(weights, biases, x, y, activation)
    tw = [tf.Variable(w) for w in weights]
    tb = [tf.Variable(b) for b in biases]
    with tf.GradientTape() as tape:
        h = tf.constant(x)
        for i, (w, b) in enumerate(zip(tw, tb, strict=True)):
            z = h @ w + b[:, None, :]
            h = z if i == len(tw) - 1 else (tf.tanh(z) if activation == "tanh" else tf.nn.relu(z))
        per_network = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(y, h), axis=1)
        total = tf.reduce_sum(per_network)
    expected = tape.gradient(total, tw + tb)
    np.testing.assert_allclose(loss, per_network.numpy(), rtol=1e-10)
    for mine, theirs in zip(grad_w + grad_b, expected, strict=True):
        np.testing.assert_allclose(mine, theirs.numpy(), rtol=1e-8, atol=1e-12)


def test_the_network_learns_the_task():
    record = record_training(TrainingConfig(epochs=400, records=5, seeds=(0,)), TASK.x, TASK.y, cache=False)
    assert record.train_accuracy[0, 0] < 0.65  # chance at the start
    assert record.train_accuracy[0, -1] > 0.9
    assert record.test_accuracy[0, -1] > 0.85
    assert record.loss[0, -1] < 0.5 * record.loss[0, 0]


def test_stacked_seeds_train_as_they_would_alone():
    both = record_training(SMALL, TASK.x, TASK.y, cache=False)
    alone = record_training(TrainingConfig(epochs=60, records=8, seeds=(1,)), TASK.x, TASK.y, cache=False)
    for a, b in zip(both.weights, alone.weights, strict=True):
        np.testing.assert_allclose(a[1], b[0], rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(both.gradient_std[1], alone.gradient_std[0], rtol=1e-10)
    assert not np.allclose(both.weights[0][0, -1], both.weights[0][1, -1])  # seeds differ


def test_record_layout_and_activations():
    record = record_training(SMALL, TASK.x, TASK.y, cache=False)
    np.testing.assert_array_equal(record.epochs, SMALL.recorded_epochs())
    assert record.epochs[0] == 0 and record.epochs[-1] == 60
    assert record.gradient_mean.shape == record.gradient_std.shape == (2, 60, 6)
    assert np.all(record.gradient_mean > 0) and np.all(record.gradient_std > 0)
    assert record.train_index.shape == (2, round(0.8 * 4096))
    activations = record.activations(TASK.x, seed_index=1, record_index=3)
    assert [a.shape[1] for a in activations] == [10, 7, 5, 4, 3, 2]
    assert np.all(np.abs(activations[0]) < 1)
    np.testing.assert_allclose(activations[-1].sum(1), 1.0)
    for layer in (0, 3, 5):
        model = record.layer_model(layer, seed_index=1, record_index=3)
        assert not model.trainable
        out = model(TASK.x[:100]).numpy()
        np.testing.assert_allclose(out, activations[layer][:100], atol=1e-5)


def test_interrupted_run_resumes_to_the_same_record(tmp_path):
    reference = record_training(SMALL, TASK.x, TASK.y, cache=False)
    seen = []

    def interrupt(epoch):
        seen.append(epoch)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        record_training(
            SMALL, TASK.x, TASK.y, directory=tmp_path, checkpoint_seconds=0, on_checkpoint=interrupt
        )
    files = sorted(p.name for p in (tmp_path / "infoplane").iterdir())
    assert len(files) == 1 and files[0].endswith(".checkpoint.npz"), files  # no partial or temporary file
    stopped_at = seen[-1]

    resumed_from = []
    record = record_training(
        SMALL, TASK.x, TASK.y, directory=tmp_path, checkpoint_seconds=0, on_checkpoint=resumed_from.append
    )
    assert resumed_from and resumed_from[0] > stopped_at  # it went on, it did not start over
    for a, b in zip(record.weights, reference.weights, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(record.gradient_std, reference.gradient_std)
    np.testing.assert_array_equal(record.test_accuracy, reference.test_accuracy)
    files = sorted(p.name for p in (tmp_path / "infoplane").iterdir())
    assert len(files) == 1 and not files[0].endswith((".checkpoint.npz", ".tmp")), files

    # a finished record is read back, not trained again
    again = record_training(SMALL, TASK.x, TASK.y, directory=tmp_path, on_checkpoint=pytest.fail)
    np.testing.assert_array_equal(again.weights[2], reference.weights[2])
    assert again.seconds == record.seconds


def test_cache_key_separates_configurations(tmp_path):
    record_training(SMALL, TASK.x, TASK.y, directory=tmp_path)
    other = TrainingConfig(epochs=60, records=8, seeds=(0, 1), activation="relu")
    record_training(other, TASK.x, TASK.y, directory=tmp_path)
    record_training(SMALL, TASK.x, 1 - TASK.y, directory=tmp_path)  # other data, other key
    assert len(list((tmp_path / "infoplane").glob("*.npz"))) == 3


def test_a_failed_write_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "record.npz"
    write_atomically(path, {"a": np.arange(3)})

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(infoplane.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(path, {"a": np.arange(5)})
    assert [p.name for p in tmp_path.iterdir()] == ["record.npz"]
    monkeypatch.undo()
    with np.load(path) as saved:
        np.testing.assert_array_equal(saved["a"], np.arange(3))  # the old file, intact


def test_cache_directory_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MI_CACHE_DIR", str(tmp_path / "elsewhere"))
    assert infoplane.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("MI_CACHE_DIR")
    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "pyproject.toml").write_text("")
    monkeypatch.chdir(project / "notebooks")
    assert infoplane.cache_dir() == project.resolve() / ".mi_cache"


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"hidden": ()}, "hidden"),
        ({"hidden": (10, 0)}, "hidden"),
        ({"activation": "sigmoid"}, "activation"),
        ({"train_fraction": 1.0}, "train_fraction"),
        ({"epochs": 0}, "epochs"),
        ({"seeds": (1, 1)}, "seeds"),
        ({"seeds": (-1,)}, "seeds"),
        ({"learning_rate": -1.0}, "learning_rate"),
    ],
)
def test_bad_config(kwargs, name):
    with pytest.raises(ValueError, match=name):
        TrainingConfig(**kwargs)


def test_bad_data():
    with pytest.raises(ValueError, match="y must"):
        record_training(SMALL, TASK.x, TASK.y[:10], cache=False)
    with pytest.raises(ValueError, match="binary"):
        record_training(SMALL, TASK.x, TASK.y * 2, cache=False)
    with pytest.raises(ValueError, match="config"):
        record_training({"epochs": 3}, TASK.x, TASK.y, cache=False)
    with pytest.raises(ValueError, match="train_fraction"):
        record_training(TrainingConfig(train_fraction=0.0001), TASK.x, TASK.y, cache=False)
