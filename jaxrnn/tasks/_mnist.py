"""MNIST from standard IDX files, as sequential (and permuted) MNIST (Schmidt et al., Sect. 4.1).

Reads ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each gzipped
(``.gz``) or not, from a directory. Never downloads. A missing, truncated or
malformed file raises `DataError` naming the file and what was expected.
"""

from __future__ import annotations

import gzip
import math
import os
import pathlib
import zlib

import numpy as np
from numpy.typing import DTypeLike

__all__ = [
    "DataError",
    "read_idx",
    "load_mnist",
    "sequential_mnist",
    "resolve_data_dir",
    "mnist_search_path",
]

MNIST_MEAN, MNIST_STD = 0.1307, 0.3081
_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class DataError(ValueError):
    """A data file is missing or not what it should be."""


def _open_bytes(path: pathlib.Path) -> bytes:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise DataError(f"{path}: corrupt or truncated gzip data ({e})") from None
    return raw


def read_idx(path: str | os.PathLike, expected_ndim: int | None = None) -> np.ndarray:
    """Read one IDX file (gzipped or not) into a NumPy array.

    **Arguments:**

    - `path`: the IDX file (``.gz`` is decompressed on the fly).
    - `expected_ndim`: the number of dimensions the file must have (images 3,
      labels 1); ``None`` accepts any.

    **Returns:**

    The array, with the dtype and shape the header declares. Raises `DataError`
    naming the file when it is truncated, corrupt or of the wrong rank.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    data = _open_bytes(path)
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in _DTYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {data[:4].hex()})")
    dtype = np.dtype(_DTYPES[data[2]])
    ndim = data[3]
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataError(f"{path}: expected an IDX file with {expected_ndim} dimensions, got {ndim}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated header")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    n_bytes = math.prod(shape) * dtype.itemsize
    if len(data) - header != n_bytes:
        raise DataError(
            f"{path}: header says shape {shape} ({n_bytes} bytes of data) but the file holds "
            f"{len(data) - header} bytes (truncated?)"
        )
    return np.frombuffer(data, dtype=dtype, count=math.prod(shape), offset=header).reshape(shape)


def _find(directory: pathlib.Path, stem: str) -> pathlib.Path:
    for name in (stem, stem + ".gz"):
        if (directory / name).is_file():
            return directory / name
    raise DataError(f"{directory / stem}[.gz]: file not found (expected standard MNIST IDX files)")


def mnist_search_path(data_dir: str | os.PathLike | None = None) -> list[pathlib.Path]:
    """Where MNIST is looked for, in order: ``data_dir`` (``task.data_dir`` or
    ``--data-dir``) alone if given; else ``$JAXRNN_DATA``, then ``../shared/data/mnist``
    relative to the working directory and to the jaxrnn checkout."""
    if data_dir is not None:
        return [pathlib.Path(data_dir).expanduser()]
    places = []
    if os.environ.get("JAXRNN_DATA"):
        places.append(pathlib.Path(os.environ["JAXRNN_DATA"]).expanduser())
    places.append(pathlib.Path("..") / "shared" / "data" / "mnist")
    places.append(pathlib.Path(__file__).resolve().parents[3] / "shared" / "data" / "mnist")
    unique = []
    for p in places:
        if all(p.resolve() != q.resolve() for q in unique):
            unique.append(p)
    return unique


def resolve_data_dir(data_dir: str | os.PathLike | None) -> pathlib.Path:
    """The MNIST directory: the first existing place of `mnist_search_path`, else a
    `DataError` naming every place searched."""
    places = mnist_search_path(data_dir)
    for path in places:
        if path.is_dir():
            return path
    if data_dir is not None:
        raise DataError(f"{places[0]}: MNIST data directory not found")
    raise DataError(
        "no MNIST directory: searched "
        + ", ".join(str(p) for p in places)
        + " (set task.data_dir, pass --data-dir or set JAXRNN_DATA)"
    )


def load_mnist(
    data_dir: str | os.PathLike[str] | None, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST images and labels of one split.

    **Arguments:**

    - `data_dir`: the directory of the standard IDX files (default ``$JAXRNN_DATA``).
    - `split`: ``"train"`` or ``"test"``.

    **Returns:**

    ``(images, labels)``: uint8 arrays of shapes ``(n, 28, 28)`` and ``(n,)``.
    """
    directory = resolve_data_dir(data_dir)
    img_path, lbl_path = (_find(directory, stem) for stem in _FILES[split])
    images = read_idx(img_path, expected_ndim=3)
    labels = read_idx(lbl_path, expected_ndim=1)
    if images.shape[0] != labels.shape[0]:
        raise DataError(
            f"{img_path} holds {images.shape[0]} images but {lbl_path} holds "
            f"{labels.shape[0]} labels"
        )
    if labels.size and labels.max() > 9:
        raise DataError(f"{lbl_path}: labels must lie in 0..9, found {labels.max()}")
    return images, labels


def sequential_mnist(
    data_dir: str | os.PathLike[str] | None,
    split: str,
    n: int | None = None,
    *,
    permutation: np.ndarray | None = None,
    dtype: DTypeLike = np.float32,
) -> tuple[np.ndarray, np.ndarray]:
    """Sequential MNIST: inputs (n, 784, 1), one pixel per step, row by row, normalised
    with mean 0.1307 and std 0.3081; labels (n,) int32. ``permutation`` (a permutation
    of range(784)) gives permuted sequential MNIST (Schmidt et al., Sect. 4.1).

    **Arguments:**

    - `data_dir`: the directory of the IDX files (default ``$JAXRNN_DATA``).
    - `split`: ``"train"`` or ``"test"``.
    - `n`: the first ``n`` images (default: all).
    - `permutation`: the pixel order (default: row by row).
    - `dtype`: the inputs' dtype.

    **Returns:**

    ``(inputs, labels)``, shapes ``(n, 784, 1)`` and ``(n,)``.
    """
    images, labels = load_mnist(data_dir, split)
    if n is not None:
        if n > images.shape[0]:
            raise DataError(f"asked for {n} {split} images but the files hold {images.shape[0]}")
        images, labels = images[:n], labels[:n]
    seq = images.reshape(images.shape[0], -1).astype(np.float32) / 255.0
    seq = (seq - MNIST_MEAN) / MNIST_STD
    if permutation is not None:
        seq = seq[:, permutation]
    return seq[..., None].astype(dtype), labels.astype(np.int32)
