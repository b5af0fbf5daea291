"""A task's arrays, built deterministically from a config and a seed."""

from __future__ import annotations

import os
from typing import Literal, NamedTuple

import jax
import numpy as np
from numpy.typing import DTypeLike

from ._addition import addition_problem, multiplication_problem
from ._mnist import sequential_mnist

__all__ = ["TaskData", "make_task"]


class TaskData(NamedTuple):
    """Train and test inputs ``(n, T, K)`` and targets; ``kind`` says how to score them.

    Regression targets are ``(n, 1)`` floats (squared error at the last step;
    correct when |error| < 0.04); classification targets are ``(n,)`` int labels
    (cross-entropy; correct when the argmax is the label).

    **Arguments:**

    - `train_x`: training inputs, shape ``(n_train, T, K)``.
    - `train_y`: training targets, ``(n_train, 1)`` floats or ``(n_train,)`` labels.
    - `test_x`: test inputs, shape ``(n_test, T, K)``.
    - `test_y`: test targets, as ``train_y``.
    - `kind`: ``"regression"`` or ``"classification"``.
    - `n_outputs`: the read-out size (1, or the number of classes).
    """

    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    kind: Literal["regression", "classification"]
    n_outputs: int


def make_task(
    name: str,
    *,
    T: int = 100,
    n_train: int,
    n_test: int,
    seed: int = 0,
    data_dir: str | os.PathLike[str] | None = None,
    dtype: DTypeLike = np.float32,
) -> TaskData:
    """Build ``addition``, ``multiplication``, ``mnist`` or ``permuted_mnist``.

    Addition/multiplication draw train and test sets from independent keys
    derived from ``seed``; sequential MNIST reads the first ``n_train`` /
    ``n_test`` images of the IDX files in ``data_dir`` (or ``$JAXRNN_DATA``), the
    permuted variant with a permutation drawn from ``seed``.

    **Arguments:**

    - `name`: ``"addition"``, ``"multiplication"``, ``"mnist"`` or ``"permuted_mnist"``.
    - `T`: the sequence length of addition/multiplication (MNIST: always 784).
    - `n_train`: training trials (images).
    - `n_test`: test trials (images).
    - `seed`: the seed of the trials (or of the permutation).
    - `data_dir`: the MNIST directory.
    - `dtype`: the inputs' dtype.

    **Returns:**

    The `TaskData`.
    """
    if name in ("addition", "multiplication"):
        make = addition_problem if name == "addition" else multiplication_problem
        k_train, k_test = jax.random.split(jax.random.PRNGKey(seed))
        with jax.default_device(jax.local_devices(backend="cpu")[0]):
            tx, ty = make(k_train, n_train, T)
            vx, vy = make(k_test, n_test, T)
        cast = lambda a: np.asarray(a, dtype=dtype)  # noqa: E731
        return TaskData(cast(tx), cast(ty), cast(vx), cast(vy), "regression", 1)
    if name in ("mnist", "permuted_mnist"):
        perm = None
        if name == "permuted_mnist":
            perm = np.random.default_rng(seed).permutation(784)
        tx, ty = sequential_mnist(data_dir, "train", n_train, permutation=perm, dtype=dtype)
        vx, vy = sequential_mnist(data_dir, "test", n_test, permutation=perm, dtype=dtype)
        return TaskData(tx, ty, vx, vy, "classification", 10)
    raise ValueError(f"unknown task {name!r}")
