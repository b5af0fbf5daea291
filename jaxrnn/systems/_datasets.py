"""Observed time series from ground-truth systems: sample, standardise, add noise, split.

``make_dataset(system, y0, ...)`` integrates a flow with a diffrax solver (or
iterates a map), discards a transient, samples ``n_samples`` points every
``dt`` for each of ``n_series`` series (each continuing from the previous one's
end, so they lie on the attractor), standardises every dimension with the
training statistics, and adds Gaussian observation noise. ``dataset(name)``
gives the settings used in the papers by name, e.g. ``"bursting_neuron"``:
the authors' 3 × 1501 samples at 0.5 ms, standardised.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from .._simulate import simulate
from .._system_kinds import AbstractContinuousSystem
from .._typing import ArrayInput
from ._bursting import BURSTING_INITIAL_STATE, BurstingNeuron
from ._classic import Lorenz63, Rossler, VanDerPol

__all__ = ["TimeSeriesData", "make_dataset", "dataset", "DATASETS"]


@dataclass(frozen=True)
class TimeSeriesData:
    """Time series for reconstruction; ``train``/``test`` split along the series axis.

    **Arguments:**

    - `series`: shape ``(n_series, n_samples, dims)``, standardised when asked.
    - `mean`: shape ``(dims,)``, the mean removed by standardisation (0 if none).
    - `std`: shape ``(dims,)``, the scale divided out (1 if none): ``series · std + mean``
      is the raw data.
    - `dt`: the sampling step.
    - `n_train`: the first ``n_train`` series are for training, the rest for testing.
    """

    series: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    dt: float
    n_train: int

    @property
    def train(self) -> np.ndarray:
        return self.series[: self.n_train]

    @property
    def test(self) -> np.ndarray:
        return self.series[self.n_train :]


def make_dataset(
    system,
    y0: ArrayInput,
    *,
    n_series: int = 1,
    n_samples: int = 1000,
    dt: float = 0.01,
    transient: float = 0.0,
    observe: Callable | None = None,
    standardise: bool = True,
    noise_std: float = 0.0,
    n_train: int | None = None,
    solver: str | diffrax.AbstractSolver = "tsit5",
    rtol: float = 1e-8,
    atol: float = 1e-8,
    seed: int = 0,
) -> TimeSeriesData:
    """Sample ``n_series`` consecutive windows of ``n_samples`` points from ``system``.

    **Arguments:**

    - `system`: a continuous system (or a map) of the core API.
    - `y0`: the initial state.
    - `n_series`: the number of consecutive windows.
    - `n_samples`: samples per window.
    - `dt`: the sampling step (for a map: ignored, one sample per step).
    - `transient`: time simulated and discarded before the first sample.
    - `observe`: maps a state to the observed vector (default: the whole state).
    - `standardise`: z-score every dimension over all series.
    - `noise_std`: Gaussian observation noise, in standardised units.
    - `n_train`: series that go to training (default: all but the last when
      ``n_series > 1``).
    - `solver`: the diffrax solver (name or instance).
    - `rtol`: relative tolerance of the adaptive solver.
    - `atol`: absolute tolerance of the adaptive solver.
    - `seed`: the seed of the observation noise.

    **Returns:**

    The `TimeSeriesData`.
    """
    y = jnp.asarray(y0, jnp.zeros(()).dtype)
    flow = isinstance(system, AbstractContinuousSystem)

    def flow_run(y, **grid):
        return simulate(
            system, y, solver=solver, rtol=rtol, atol=atol, max_steps=10_000_000, **grid
        ).ys

    if transient > 0:
        if flow:
            y = flow_run(y, t1=transient, dt=dt, saveat="t1")[0]
        else:
            y = simulate(system, y, int(transient)).ys[-1]
    windows = []
    for _ in range(n_series):
        if flow:
            ys = flow_run(y, n_steps=n_samples - 1, dt=dt)
        else:
            ys = simulate(system, y, n_samples - 1).ys
        windows.append(np.asarray(ys if observe is None else jax.vmap(observe)(ys)))
        y = ys[-1]
    x = np.stack(windows)
    if not np.all(np.isfinite(x)):
        raise ValueError("the system diverged while sampling the dataset")
    if n_train is None:
        n_train = n_series - 1 if n_series > 1 else 1
    stats = x[:n_train].reshape(-1, x.shape[-1])
    mean, std = (
        (stats.mean(0), stats.std(0))
        if standardise
        else (np.zeros(x.shape[-1]), np.ones(x.shape[-1]))
    )
    x = (x - mean) / std
    if noise_std > 0:
        x = x + noise_std * np.random.default_rng(seed).normal(size=x.shape)
    for a in (x, mean, std):  # shared by every caller of a cached `dataset`: read-only
        a.setflags(write=False)
    return TimeSeriesData(x, mean, std, float(dt), int(n_train))


DATASETS = {
    "bursting_neuron": dict(
        system=BurstingNeuron,
        y0=BURSTING_INITIAL_STATE,
        n_series=3,
        n_samples=1501,
        dt=0.5,
        transient=0.0,
        n_train=3,
    ),
    "lorenz63": dict(
        system=Lorenz63,
        y0=(1.0, 1.0, 1.0),
        n_series=4,
        n_samples=2000,
        dt=0.01,
        transient=20.0,
        n_train=3,
    ),
    "rossler": dict(
        system=Rossler,
        y0=(1.0, 1.0, 0.0),
        n_series=4,
        n_samples=2000,
        dt=0.1,
        transient=100.0,
        n_train=3,
    ),
    "van_der_pol": dict(
        system=VanDerPol,
        y0=(2.0, 0.0),
        n_series=4,
        n_samples=1000,
        dt=0.05,
        transient=50.0,
        n_train=3,
    ),
}
"""The named simulated datasets of `dataset` and their settings."""


def dataset(name: str, **overrides) -> TimeSeriesData:
    """A named dataset: ``"bursting_neuron"`` (authors' setting: 3 × 1501 samples at 0.5 ms,
    standardised, all three for training) or ``"lorenz63"`` (3 train + 1 test series of 2000
    samples at dt = 0.01 after a transient of 20), ``"rossler"`` (3 + 1 series of 2000 at
    dt = 0.1) or ``"van_der_pol"`` (μ = 1, 3 + 1 series of 1000 at dt = 0.05). Keyword
    overrides change any setting, e.g. ``dataset("lorenz63", n_samples=500, noise_std=0.1)``.

    **Arguments:**

    - `name`: one of ``DATASETS``.
    - `overrides`: any keyword argument of `make_dataset`, replacing the named setting.

    **Returns:**

    The `TimeSeriesData`, read-only: calls with the same name, hashable overrides and
    default precision share one object (the series are simulated once per process).
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}")
    items = tuple(sorted(overrides.items()))
    dtype = jnp.zeros(()).dtype
    if _hashable(items):
        # the same settings give the same series: simulated once per process and
        # precision (an adaptive solve of 8,000 Lorenz samples costs about a second)
        return _named_dataset(name, items, dtype)
    return _named_dataset.__wrapped__(name, items, dtype)


def _hashable(items: tuple) -> bool:
    if any(isinstance(v, jax.Array) for _, v in items):
        return False
    try:
        hash(items)
    except TypeError:
        return False
    return True


@functools.lru_cache(maxsize=32)
def _named_dataset(name: str, items: tuple, dtype) -> TimeSeriesData:
    del dtype  # a key only: the default precision the series were simulated in
    settings = {**DATASETS[name], **dict(items)}
    system = settings.pop("system")()
    return make_dataset(system, settings.pop("y0"), **settings)
