"""Power spectra and short-time spectra of trajectories (Casoni et al., Figs. 4–5).

All functions are written with ``jnp.fft``, so they are jit-able and
differentiable with respect to the signal.
"""

from __future__ import annotations

import jax.numpy as jnp
from jaxtyping import Array, Float

__all__ = ["power_spectrum", "dominant_frequency", "spectrogram"]


def _window(n: int, kind: str | None, dtype):
    if kind in (None, "none", "boxcar"):
        return jnp.ones((n,), dtype)
    if kind == "hann":
        return 0.5 - 0.5 * jnp.cos(2 * jnp.pi * jnp.arange(n, dtype=dtype) / n)
    raise ValueError(f"window must be None or 'hann', got {kind!r}")


def power_spectrum(
    x: Float[Array, " T"] | Float[Array, "T d"],
    dt: float,
    *,
    window: str | None = "hann",
    detrend: bool = True,
) -> tuple[Float[Array, " F"], Float[Array, " F"] | Float[Array, "F d"]]:
    """One-sided power spectrum ``|rfft(w · (x − mean))|²`` of a signal sampled every
    ``dt`` seconds.

    **Arguments:**

    - `x`: the signal, shape ``(T,)`` or ``(T, d)``.
    - `dt`: the sampling interval in seconds.
    - `window`: ``"hann"`` or ``None`` (rectangular).
    - `detrend`: subtract the mean first.

    **Returns:**

    ``(frequencies, power)``: frequencies in Hz, shape ``(F,)`` with
    ``F = T // 2 + 1``, and the power, shape ``(F,)`` or ``(F, d)``.
    """
    x = jnp.asarray(x)
    if detrend:
        x = x - jnp.mean(x, axis=0)
    w = _window(x.shape[0], window, x.dtype)
    w = w if x.ndim == 1 else w[:, None]
    power = jnp.abs(jnp.fft.rfft(w * x, axis=0)) ** 2
    freqs = jnp.fft.rfftfreq(x.shape[0], d=dt)
    return freqs, power


def dominant_frequency(
    x: Float[Array, " T"], dt: float, *, refine: bool = True
) -> Float[Array, ""]:
    """The frequency (Hz) of the largest spectral peak (excluding 0 Hz). With
    ``refine``, a parabola through the peak bin and its neighbours (in log power)
    locates it between bins.

    **Arguments:**

    - `x`: the signal, shape ``(T,)``.
    - `dt`: the sampling interval in seconds.
    - `refine`: interpolate the peak between frequency bins.

    **Returns:**

    The frequency in Hz, a scalar array.
    """
    freqs, power = power_spectrum(x, dt)
    if power.ndim > 1:
        power = jnp.sum(power, axis=1)
    k = jnp.argmax(power.at[0].set(0.0))
    if not refine:
        return freqs[k]
    km, kp = jnp.clip(k - 1, 0, power.size - 1), jnp.clip(k + 1, 0, power.size - 1)
    a, b, c = (jnp.log(power[i] + 1e-300) for i in (km, k, kp))
    denom = a - 2 * b + c
    shift = jnp.where(jnp.abs(denom) > 0, 0.5 * (a - c) / jnp.where(denom == 0, 1.0, denom), 0.0)
    return freqs[k] + jnp.clip(shift, -0.5, 0.5) * (freqs[1] - freqs[0])


def spectrogram(
    x: Float[Array, " T"],
    dt: float,
    *,
    window_length: int = 256,
    hop: int | None = None,
    window: str | None = "hann",
) -> tuple[Float[Array, " S"], Float[Array, " F"], Float[Array, "S F"]]:
    """Short-time power spectrum of a signal sampled every ``dt`` seconds.

    **Arguments:**

    - `x`: the signal, shape ``(T,)``.
    - `dt`: the sampling interval in seconds.
    - `window_length`: samples per segment.
    - `hop`: samples between segment starts (default ``window_length // 2``).
    - `window`: ``"hann"`` or ``None`` (rectangular).

    **Returns:**

    ``(times, frequencies, power)``: segment centre times in s ``(S,)``,
    frequencies in Hz ``(F,)``, and the power per segment and frequency ``(S, F)``.
    """
    x = jnp.asarray(x)
    hop = window_length // 4 if hop is None else hop
    if x.shape[0] < window_length:
        raise ValueError(
            f"signal of length {x.shape[0]} is shorter than window_length={window_length}"
        )
    starts = jnp.arange(0, x.shape[0] - window_length + 1, hop)
    idx = starts[:, None] + jnp.arange(window_length)[None, :]
    segs = x[idx]
    segs = segs - jnp.mean(segs, axis=1, keepdims=True)
    w = _window(window_length, window, x.dtype)
    power = jnp.abs(jnp.fft.rfft(segs * w, axis=1)) ** 2
    times = (starts + window_length / 2) * dt
    return times, jnp.fft.rfftfreq(window_length, d=dt), power
