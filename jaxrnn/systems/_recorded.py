"""Recorded series from files: a user's own CSV recordings, and the named
``bursting_neuron_authors`` dataset (the exact three series behind Fig. 3 of Schmidt et al.).

A CSV file holds one row per time step and one column per observed variable, comma
separated; lines starting with ``#`` are comments. Named datasets are looked for the
way MNIST is: the given directory alone; else ``$JAXRNN_DATA``, then
``../shared/data`` (from the working directory and from the package's checkout).
"""

from __future__ import annotations

import os
import pathlib

import numpy as np

from ._datasets import TimeSeriesData

__all__ = [
    "RECORDED",
    "RecordedDataError",
    "load_csv_series",
    "recorded_dataset",
    "recorded_search_path",
]

RECORDED = {
    "bursting_neuron_authors": {
        "folder": "bursting_neuron",
        "files": ("file_01_X.csv", "file_02_X.csv", "file_03_X.csv"),
        "dt": 0.5,
        "doc": "the authors' three z-scored series (V, n, h) of 1501 steps at 0.5 ms",
    },
}
"""The named recorded datasets of `recorded_dataset`: folder, files and step."""


class RecordedDataError(ValueError):
    """A recorded series that cannot be read or is not a finite (time, dims) table."""


def load_csv_series(path: str | os.PathLike[str]) -> np.ndarray:
    """One series from a CSV file, shape ``(T, N)``; refuses (naming the file, row and
    column) a missing file, an empty or ragged table and non-finite values.

    **Arguments:**

    - `path`: the CSV file.

    **Returns:**

    The series as a float array of shape ``(T, N)``.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise RecordedDataError(f"{path}: no such data file")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        try:
            values = [float(v) for v in text.split(",")]
        except ValueError:
            raise RecordedDataError(
                f"{path}:{number}: not a row of numbers: {text[:60]!r}"
            ) from None
        if rows and len(values) != len(rows[0]):
            raise RecordedDataError(
                f"{path}:{number}: {len(values)} columns where earlier rows have {len(rows[0])}"
            )
        bad = [j for j, v in enumerate(values) if not np.isfinite(v)]
        if bad:
            raise RecordedDataError(
                f"{path}:{number}: non-finite value in column {bad[0] + 1} ({values[bad[0]]})"
            )
        rows.append(values)
    if len(rows) < 2:
        raise RecordedDataError(f"{path}: needs at least 2 rows of data, found {len(rows)}")
    return np.asarray(rows, float)


def recorded_search_path(data_dir: str | os.PathLike[str] | None = None) -> list[pathlib.Path]:
    """The directories a named recorded dataset is looked for in, in order."""
    if data_dir is not None:
        return [pathlib.Path(data_dir).expanduser()]
    places = []
    if os.environ.get("JAXRNN_DATA"):
        places.append(pathlib.Path(os.environ["JAXRNN_DATA"]).expanduser())
    places.append(pathlib.Path("..") / "shared" / "data")
    places.append(pathlib.Path(__file__).resolve().parents[3] / "shared" / "data")
    return places


def recorded_dataset(
    name_or_path: str | os.PathLike[str],
    data_dir: str | os.PathLike[str] | None = None,
    *,
    dt: float = 1.0,
) -> TimeSeriesData:
    """A recorded dataset: a name in `RECORDED` (``"bursting_neuron_authors"``) or the path
    of one CSV file (used as it is: no standardisation).

    **Arguments:**

    - `name_or_path`: the dataset's name or a ``.csv`` path.
    - `data_dir`: where named datasets are looked for (a directory holding
      ``bursting_neuron/``; default: ``$JAXRNN_DATA``, then ``../shared/data``).
    - `dt`: the sampling step of a CSV file.

    **Returns:**

    A `TimeSeriesData` with all series for training.
    """
    spec = RECORDED.get(str(name_or_path))
    if spec is None:
        if not str(name_or_path).endswith(".csv"):
            raise RecordedDataError(
                f"unknown recorded dataset {str(name_or_path)!r}: give a .csv path or one of "
                + ", ".join(RECORDED)
            )
        x = load_csv_series(name_or_path)[None]
        step = dt
    else:
        places = recorded_search_path(data_dir)
        folder = next(
            (
                p / spec["folder"]
                for p in places
                if (p / spec["folder"] / spec["files"][0]).is_file()
            ),
            None,
        )
        if folder is None:
            raise RecordedDataError(
                f"dataset {name_or_path}: {spec['folder']}/{spec['files'][0]} not found in "
                + ", ".join(str(p) for p in places)
                + " (pass --data-dir or set JAXRNN_DATA)"
            )
        x = np.stack([load_csv_series(folder / f) for f in spec["files"]])
        step = spec["dt"]
    dims = x.shape[-1]
    return TimeSeriesData(x, np.zeros(dims), np.ones(dims), float(step), x.shape[0])
