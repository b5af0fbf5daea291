"""Task generators match the specification; the IDX reader reads real MNIST (REFERENCE §3)."""

import gzip
import pathlib

import jax
import numpy as np
import pytest

from jaxrnn.tasks import (
    DataError,
    addition_problem,
    make_task,
    multiplication_problem,
    read_idx,
    sequential_mnist,
)


def _mnist():
    """The MNIST directory the CLI would use ($JAXRNN_DATA, then ../shared/data/mnist)."""
    from jaxrnn.tasks._mnist import DataError, resolve_data_dir

    try:
        return resolve_data_dir(None), ""
    except DataError as e:
        return None, str(e)


MNIST, _WHY = _mnist()
needs_mnist = pytest.mark.skipif(MNIST is None, reason=f"MNIST not found: {_WHY}")


@pytest.mark.parametrize("T", [20, 21, 100, 401])
def test_addition_problem_matches_the_specification(T):
    n = 4000
    x, y = addition_problem(jax.random.PRNGKey(1), n, T)
    x, y = np.asarray(x), np.asarray(y)
    assert x.shape == (n, T, 2) and y.shape == (n, 1)
    values, markers = x[..., 0], x[..., 1]
    assert values.min() >= 0.0 and values.max() < 1.0
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert np.all(markers.sum(axis=1) == 2)  # exactly two distinct markers
    pos = np.sort(np.argwhere(markers == 1).reshape(n, 2, 2)[:, :, 1], axis=1)
    t1_ok = pos[:, 0] < 10  # the early marker is always one of the two
    assert np.all(t1_ok)
    assert np.all(pos < T / 2)  # both markers before T/2 (t1 < 10 < T/2 too)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1), rtol=1e-6)
    # t2 ranges over all of {0, ..., ceil(T/2) - 1}
    assert pos[:, 1].max() == (T + 1) // 2 - 1


def test_multiplication_targets_and_determinism():
    x, y = multiplication_problem(jax.random.PRNGKey(2), 500, 50)
    x, y = np.asarray(x), np.asarray(y)
    marked = np.where(x[..., 1] == 1, x[..., 0], 1.0)
    np.testing.assert_allclose(y[:, 0], marked.prod(axis=1), rtol=1e-6)
    x2, y2 = multiplication_problem(jax.random.PRNGKey(2), 500, 50)
    np.testing.assert_array_equal(x, np.asarray(x2))
    a = make_task("addition", T=30, n_train=100, n_test=50, seed=3)
    b = make_task("addition", T=30, n_train=100, n_test=50, seed=3)
    np.testing.assert_array_equal(a.train_x, b.train_x)
    assert not np.array_equal(a.train_x[:50], a.test_x)  # independent train and test sets


def test_short_sequences_are_refused():
    with pytest.raises(ValueError, match="T must be >= 20"):
        addition_problem(jax.random.PRNGKey(0), 10, 19)


@needs_mnist
def test_idx_reader_reads_the_shared_mnist():
    labels = read_idx(MNIST / "train-labels-idx1-ubyte.gz")
    assert labels.shape == (60000,) and labels[:5].tolist() == [5, 0, 4, 1, 9]
    test_images = read_idx(MNIST / "t10k-images-idx3-ubyte.gz")
    assert test_images.shape == (10000, 28, 28) and test_images.dtype == np.uint8
    x, y = sequential_mnist(MNIST, "test", 1000)
    assert x.shape == (1000, 784, 1) and y.shape == (1000,) and y[0] == 7
    raw = test_images[:1000].reshape(1000, 784) / 255.0
    np.testing.assert_allclose(x[..., 0], (raw - 0.1307) / 0.3081, rtol=1e-6)
    perm = np.random.default_rng(0).permutation(784)
    xp, _ = sequential_mnist(MNIST, "test", 10, permutation=perm)
    np.testing.assert_array_equal(xp[:, :, 0], x[:10, perm, 0])


def _idx(array):
    array = np.asarray(array, np.uint8)
    return (bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big")
                                                       for n in array.shape) + array.tobytes())


def test_idx_reader_rejects_truncated_and_missing_files(tmp_path):
    """Tiny IDX files built here, so these run wherever the tests run."""
    data = _idx(np.arange(100) % 10)
    good = tmp_path / "labels-idx1-ubyte"
    good.write_bytes(data)
    np.testing.assert_array_equal(read_idx(good), np.arange(100) % 10)
    bad = tmp_path / "t10k-labels-idx1-ubyte"
    bad.write_bytes(data[:-10])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: header says shape \(100,\)"):
        read_idx(bad)
    cut_gz = tmp_path / "cut.gz"
    cut_gz.write_bytes(gzip.compress(data)[:20])
    with pytest.raises(DataError, match="cut.gz: corrupt or truncated gzip"):
        read_idx(cut_gz)
    garbage = tmp_path / "garbage"
    garbage.write_bytes(b"not an idx file")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(garbage)
    with pytest.raises(DataError, match="missing: file not found"):
        read_idx(tmp_path / "missing")
    images = tmp_path / "images"
    images.write_bytes(_idx(np.zeros((2, 28, 28))))
    with pytest.raises(DataError, match="expected an IDX file with 1 dimensions, got 3"):
        read_idx(images, expected_ndim=1)
    with pytest.raises(DataError, match="train-images-idx3-ubyte.*file not found"):
        sequential_mnist(tmp_path, "train")


def test_mnist_search_order_and_the_refusal_that_lists_it(tmp_path, monkeypatch):
    from jaxrnn.tasks._mnist import DataError, mnist_search_path, resolve_data_dir

    here = tmp_path / "mine"
    here.mkdir()
    monkeypatch.setenv("JAXRNN_DATA", str(here))
    assert resolve_data_dir(None) == here  # $JAXRNN_DATA before ../shared/data/mnist
    assert mnist_search_path(None)[0] == here
    assert resolve_data_dir(tmp_path) == tmp_path  # an explicit directory wins alone
    with pytest.raises(DataError, match="nowhere: MNIST data directory not found"):
        resolve_data_dir(tmp_path / "nowhere")
    monkeypatch.setenv("JAXRNN_DATA", str(tmp_path / "gone"))
    monkeypatch.chdir(tmp_path)
    places = mnist_search_path(None)
    assert places[0] == tmp_path / "gone"
    assert str(places[1]) == "../shared/data/mnist"
    if not any(p.is_dir() for p in places):
        with pytest.raises(DataError, match="searched .*gone.*shared/data/mnist"):
            resolve_data_dir(None)
