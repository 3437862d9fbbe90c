"""The Tishby network: its gradient, its training, its record and the on-disk cache."""

import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

from mi_lib import _files
from mi_lib._files import CacheWarning
from mi_lib.data import tishby_12bit
from mi_lib.infoplane import TrainingConfig, loss_and_gradients, record_training

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


def test_a_batch_of_all_training_patterns_trains_without_gradient_noise():
    """batch_size >= the training patterns: one exact-gradient step per epoch, so the minibatch
    spread is 0 and any larger batch size gives the same run."""
    config = TrainingConfig(epochs=30, records=4, seeds=(0, 1), batch_size=4096, learning_rate=5e-3)
    record = record_training(config, TASK.x, TASK.y, cache=False)
    assert np.all(record.gradient_std == 0.0) and np.all(record.gradient_mean > 0.0)
    assert record.loss[:, -1].max() < record.loss[:, 0].min()  # it trains
    exact = record_training(
        TrainingConfig(epochs=30, records=4, seeds=(0, 1), batch_size=10**6, learning_rate=5e-3),
        TASK.x,
        TASK.y,
        cache=False,
    )
    for a, b in zip(record.weights, exact.weights, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


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
    _files.save_arrays(path, {"a": np.arange(3)})

    def broken_savez(file, **arrays):
        file.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(_files.np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        _files.save_arrays(path, {"a": np.arange(5)})
    assert [p.name for p in tmp_path.iterdir()] == ["record.npz"]
    monkeypatch.undo()
    with np.load(path) as saved:
        np.testing.assert_array_equal(saved["a"], np.arange(3))  # the old file, intact


def assert_same_record(a, b):
    for x, y in zip(a.weights + a.biases, b.weights + b.biases, strict=True):
        np.testing.assert_array_equal(x, y)
    for name in ("loss", "train_accuracy", "test_accuracy", "gradient_mean", "gradient_std", "train_index"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_a_truncated_record_is_reported_and_recomputed(tmp_path):
    first = record_training(SMALL, TASK.x, TASK.y, directory=tmp_path)
    [path] = (tmp_path / "infoplane").glob("*.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.warns(CacheWarning, match=re.escape(str(path))) as caught:
        again = record_training(SMALL, TASK.x, TASK.y, directory=tmp_path)
    assert len(caught) == 1 and "\n" not in str(caught[0].message)
    assert_same_record(again, first)
    assert again.seconds != first.seconds  # trained again, not read
    assert record_training(SMALL, TASK.x, TASK.y, directory=tmp_path).seconds == again.seconds  # stored again


def test_a_record_of_another_layout_is_reported_and_recomputed(tmp_path):
    first = record_training(SMALL, TASK.x, TASK.y, directory=tmp_path)
    [path] = (tmp_path / "infoplane").glob("*.npz")
    _files.save_arrays(path, {"records": np.zeros(3)})  # a valid file, but not this record
    with pytest.warns(CacheWarning, match="holds arrays"):
        again = record_training(SMALL, TASK.x, TASK.y, directory=tmp_path)
    assert_same_record(again, first)


def test_a_corrupt_checkpoint_is_reported_and_training_starts_over(tmp_path):
    reference = record_training(SMALL, TASK.x, TASK.y, cache=False)

    def interrupt(epoch):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        record_training(
            SMALL, TASK.x, TASK.y, directory=tmp_path, checkpoint_seconds=0, on_checkpoint=interrupt
        )
    [checkpoint] = (tmp_path / "infoplane").glob("*.checkpoint.npz")
    checkpoint.write_bytes(checkpoint.read_bytes()[:-100])
    written = []
    with pytest.warns(CacheWarning, match=re.escape(checkpoint.name)):
        record = record_training(
            SMALL, TASK.x, TASK.y, directory=tmp_path, checkpoint_seconds=0, on_checkpoint=written.append
        )
    assert written[0] == SMALL.recorded_epochs()[1]  # from the start
    assert_same_record(record, reference)


# Records SMALL with a checkpoint at every recorded epoch and kills itself (SIGKILL) half-way
# through its kill_at-th write of a file.
KILLED_WRITER = """
import os, signal, sys
import numpy as np
from mi_lib.data import tishby_12bit
from mi_lib.infoplane import TrainingConfig, record_training

directory, kill_at = sys.argv[1], int(sys.argv[2])
savez, writes = np.savez, []

def savez_then_die(file, **arrays):
    writes.append(None)
    if len(writes) == kill_at:
        file.write(b"PK" + bytes(4096))
        file.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    savez(file, **arrays)

np.savez = savez_then_die
task = tishby_12bit()
config = TrainingConfig(epochs=60, records=8, seeds=(0, 1))
record_training(config, task.x, task.y, directory=directory, checkpoint_seconds=0)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
@pytest.mark.parametrize("killed_in", ["checkpoint", "final record"])
def test_a_recording_killed_while_writing_resumes_to_the_same_record(tmp_path, killed_in):
    recorded = SMALL.recorded_epochs()
    checkpoints = recorded[(recorded > 0) & (recorded < SMALL.epochs)]
    kill_at = 3 if killed_in == "checkpoint" else len(checkpoints) + 1
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
    }
    child = subprocess.run(
        [sys.executable, "-c", KILLED_WRITER, str(tmp_path), str(kill_at)],
        cwd=root,
        env=env,
        capture_output=True,
        timeout=600,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-3000:]
    folder = tmp_path / "infoplane"
    left = sorted(p.name for p in folder.iterdir())
    assert [n.endswith(".tmp") for n in left].count(True) == 1, left  # the half-written file
    assert [n.endswith(".checkpoint.npz") for n in left].count(True) == 1, left

    written = []
    record = record_training(
        SMALL, TASK.x, TASK.y, directory=tmp_path, checkpoint_seconds=0, on_checkpoint=written.append
    )
    # resumed from the last complete checkpoint: the killed write is the first one done again
    assert written == list(checkpoints[kill_at - 1 :])
    assert_same_record(record, record_training(SMALL, TASK.x, TASK.y, cache=False))
    [final] = folder.iterdir()  # no temporary file, checkpoint or lock left
    assert final.suffix == ".npz" and not final.name.endswith(".checkpoint.npz")
    mask = os.umask(0o022)
    os.umask(mask)
    assert stat.S_IMODE(final.stat().st_mode) == 0o666 & ~mask  # readable by the group


def test_a_second_process_waits_for_the_first_and_reads_its_record(tmp_path):
    first = record_training(SMALL, TASK.x, TASK.y, directory=tmp_path / "first")
    [stored] = (tmp_path / "first" / "infoplane").glob("*.npz")
    folder = tmp_path / "second" / "infoplane"
    written, result = [], {}

    def second():
        result["record"] = record_training(
            SMALL,
            TASK.x,
            TASK.y,
            directory=tmp_path / "second",
            checkpoint_seconds=0,
            on_checkpoint=written.append,
        )

    # the first process holds the lock on this record while it trains, then stores it
    with _files.exclusive_lock(folder / stored.name.replace(".npz", ".lock")):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join(timeout=1.0)
        shutil.copy(stored, folder / stored.name)
    thread.join(timeout=120)
    assert not thread.is_alive()
    assert written == []  # it did not train
    assert result["record"].seconds == first.seconds  # it read the stored record


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


def test_storage_knows_files_and_the_network_knows_no_files():
    # The package's split: storage writes and reads named arrays, whatever trains them; the network
    # and the training loop never touch a file (the loop checkpoints through a callback).
    import ast
    import inspect

    from mi_lib.infoplane import network, storage, training

    def imported(module):
        tree = ast.parse(inspect.getsource(module))
        return {
            alias.name if isinstance(node, ast.Import) else node.module
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        }

    assert not {m for m in imported(storage) if m.startswith("mi_lib.infoplane")}
    assert not {m for m in imported(network) if m.startswith(("mi_lib.infoplane", "mi_lib._files"))}
    assert "mi_lib._files" not in imported(training)
    loop = inspect.signature(training._train).parameters
    assert "checkpoint" in loop and not [name for name in loop if "path" in name or "directory" in name]
