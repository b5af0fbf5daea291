"""The measures of Fig. 3 of Schmidt et al. as the authors computed them (Sect. 4.2; their
``create_Fig3BC.m``, recomputed in ``em_fig3_authors.md`` §5).

- `amplitude_spectrum`: the one-sided amplitude spectrum |DFT_k(x)|/L of one series of
  length L, k = 0 … ⌊L/2⌋, doubled for k = 1 … ⌊L/2⌋ − 1 (the MATLAB fft recipe; for
  odd L the last bin is not doubled), at f_k = f_s k / L. No smoothing, no
  normalisation.
- `spectrum_errors`: between a true and a generated series: the mean squared
  difference of the amplitude spectra over all bins, over f ≤ 50 Hz (DC included) and
  over 50 < f ≤ 600 Hz, and the Pearson correlation r of the two spectra.
- `isoutlier`: MATLAB's default outlier rule, |x − median| > 3 · 1.4826 · MAD.
- `diverged`: the rule this project uses for "globally diverging" free runs.
- `fig3_table`: per penalty strength, Fig. 3A–C as the authors averaged them.
"""

from __future__ import annotations

import numpy as np
from jaxtyping import ArrayLike

__all__ = ["amplitude_spectrum", "spectrum_errors", "isoutlier", "diverged", "fig3_table"]


def amplitude_spectrum(
    x: ArrayLike, sampling_rate: float = 2000.0
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided amplitude spectrum of a 1-D series.

    **Arguments:**

    - `x`: the series, shape ``(L,)``.
    - `sampling_rate`: f_s in Hz (the bursting-neuron data: 2000, a 0.5 ms step).

    **Returns:**

    ``(frequencies, amplitudes)``, each of shape ``(⌊L/2⌋ + 1,)``.
    """
    x = np.asarray(x, float)
    if x.ndim != 1 or x.size < 2:
        raise ValueError(f"amplitude_spectrum: x must be 1-D with >= 2 samples, got {x.shape}")
    L = x.size
    p = np.abs(np.fft.fft(x))[: L // 2 + 1] / L
    p[1 : L // 2] *= 2.0  # P1(2:end-1) doubled: the last bin (k = ⌊L/2⌋) stays single
    return sampling_rate * np.arange(L // 2 + 1) / L, p


def spectrum_errors(
    x_true: ArrayLike,
    x_gen: ArrayLike,
    *,
    sampling_rate: float = 2000.0,
    low: float = 50.0,
    high: float = 600.0,
) -> dict[str, float]:
    """The spectrum errors of Fig. 3B/C between two 1-D series of equal length.

    **Arguments:**

    - `x_true`: the data (the authors: the z-scored noisy voltage).
    - `x_gen`: the generated series (a noise-free free run, not re-standardised).
    - `sampling_rate`: f_s in Hz.
    - `low`: the upper edge of the low band (DC included).
    - `high`: the upper edge of the high band (low, high].

    **Returns:**

    ``{"mse", "mse_low", "mse_high", "r"}``: the mean squared differences over all
    bins, the low band and the high band, and the Pearson correlation of the spectra
    (NaN when the generated spectrum is constant or non-finite).
    """
    x_true, x_gen = np.asarray(x_true, float), np.asarray(x_gen, float)
    if x_true.shape != x_gen.shape:
        raise ValueError(
            f"spectrum_errors: the series must have equal shapes, got {x_true.shape} and "
            f"{x_gen.shape}"
        )
    f, p = amplitude_spectrum(x_true, sampling_rate)
    _, q = amplitude_spectrum(x_gen, sampling_rate)
    sq = (q - p) ** 2
    lo, hi = f <= low, (f > low) & (f <= high)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = float(np.corrcoef(p, q)[0, 1]) if np.all(np.isfinite(q)) and np.std(q) > 0 else np.nan
    return {
        "mse": float(np.mean(sq)),
        "mse_low": float(np.mean(sq[lo])),
        "mse_high": float(np.mean(sq[hi])),
        "r": r,
    }


def isoutlier(values: ArrayLike) -> np.ndarray:
    """MATLAB's ``isoutlier`` default: more than three scaled median absolute deviations
    (1.4826 · MAD) from the median. NaNs are never outliers (and not counted).

    **Arguments:**

    - `values`: the values, shape ``(n,)``.

    **Returns:**

    A boolean array of shape ``(n,)``.
    """
    v = np.asarray(values, float)
    finite = np.isfinite(v)
    med = np.median(v[finite])
    mad = 1.4826 * np.median(np.abs(v[finite] - med))
    return finite & (np.abs(v - med) > 3.0 * mad)


def diverged(x_gen: ArrayLike, x_true: ArrayLike, *, factor: float = 10.0) -> bool:
    """Whether a free run diverges globally: a non-finite value, or a value beyond
    ``factor`` times the largest absolute value of the data in that dimension.

    **Arguments:**

    - `x_gen`: the free run, shape ``(T, d)``.
    - `x_true`: the data, shape ``(T2, d)``.
    - `factor`: how far beyond the data's largest absolute value counts as diverged.

    **Returns:**

    ``True`` when the run diverges.
    """
    x_gen, x_true = np.asarray(x_gen, float), np.asarray(x_true, float)
    if not np.all(np.isfinite(x_gen)):
        return True
    return bool(np.any(np.abs(x_gen) > factor * np.max(np.abs(x_true), axis=0)))


def _mean_sem(values) -> tuple[float, float, int]:
    v = np.asarray(values, float)
    n = v.size
    if n == 0:
        return float("nan"), float("nan"), 0
    sem = float(np.std(v, ddof=1) / np.sqrt(n)) if n > 1 else float("nan")
    return float(np.mean(v)), sem, n


def fig3_table(runs: list[dict], *, high_cut: float = 0.08) -> list[dict]:
    """Per penalty strength, the Fig. 3 statistics with the authors' filters
    (``em_fig3_authors.md`` §5).

    **Arguments:**

    - `runs`: one dict per fitted model with keys ``tau`` (any label), ``diverged``
      (bool), ``d_kl``, ``mse``, ``mse_low``, ``mse_high``, ``r`` and ``amplitude``
      (Σ_k of the generated amplitude spectrum).
    - `high_cut`: normalised high-band errors above it are dropped (the authors' 0.08).

    **Returns:**

    One dict per ``tau`` (in order of first appearance): ``n`` runs, ``n_kept_a``
    and ``d_kl`` mean ± SEM over the non-diverged runs (Fig. 3A); ``n_kept_bc``,
    ``mse`` mean ± SEM after dropping diverged runs, non-finite errors and
    `isoutlier` runs of the total amplitude (3B); ``low``/``high``: the band errors
    divided by their sums over all kept runs (3C; ``high`` also without values above
    ``high_cut``); ``r``: the spectrum correlation. SEM = SD(N − 1)/√n.
    """
    taus = list(dict.fromkeys(r["tau"] for r in runs))
    alive = [r for r in runs if not r["diverged"]]
    finite = [r for r in alive if np.isfinite(r["mse"])]
    amp = np.array([r["amplitude"] for r in finite])
    keep = ~isoutlier(amp) if len(finite) else np.zeros(0, bool)
    kept = [r for r, k in zip(finite, keep) if k]
    low_sum = float(np.sum([r["mse_low"] for r in kept])) or 1.0
    high_sum = float(np.sum([r["mse_high"] for r in kept])) or 1.0
    rows = []
    for tau in taus:
        a = [r["d_kl"] for r in alive if r["tau"] == tau]
        bc = [r for r in kept if r["tau"] == tau]
        d_kl, d_kl_sem, n_a = _mean_sem(a)
        mse, mse_sem, n_bc = _mean_sem([r["mse"] for r in bc])
        low, low_sem, _ = _mean_sem([r["mse_low"] / low_sum for r in bc])
        highs = [r["mse_high"] / high_sum for r in bc]
        high, high_sem, n_high = _mean_sem([h for h in highs if h <= high_cut])
        rr, rr_sem, _ = _mean_sem([r["r"] for r in bc if np.isfinite(r["r"])])
        rows.append(
            {
                "tau": tau,
                "n": sum(1 for r in runs if r["tau"] == tau),
                "n_kept_a": n_a,
                "d_kl": d_kl,
                "d_kl_sem": d_kl_sem,
                "n_kept_bc": n_bc,
                "mse": mse,
                "mse_sem": mse_sem,
                "low": low,
                "low_sem": low_sem,
                "high": high,
                "high_sem": high_sem,
                "n_high": n_high,
                "r": rr,
                "r_sem": rr_sem,
            }
        )
    return rows
