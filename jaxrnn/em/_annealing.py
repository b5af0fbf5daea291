"""EM with the authors' annealing protocol (Schmidt et al., Sect. 3.4, Suppl. 7.1.3).

A fit is five stages: an LDS (z_t = W z_{t−1} + h + ε_t, x_t = B z_t + η_t, W full,
unregularised) from the authors' random initialisation, then the PLRNN with the fixed
process noise σ annealed 1 → 0.1 → 0.01 → 0.001 (B frozen from the third stage on).
Each stage runs EM iterations (E-step, M-step, then ℓ: the log joint at the E-step's
mode with the new parameters, plus the log prior of the penalty) while the first
iteration has just run, or ℓ rose by more than ``tol · |ℓ_1|``, or ℓ fell, for at
most ``max_iterations`` iterations; it returns the iterate of highest ℓ, which starts
the next stage. Each stage's first E-step starts its pattern iteration from a random
z ~ N(0, I) (the authors'; ``EMSettings.stage_start = "previous"``: from the previous
stage's returned mode); later ones start from the previous mode.

One stage is one compiled program per shape; `fit_em` runs a batch of fits (series ×
penalty strengths × seeds) through it as one vmapped program.
"""

from __future__ import annotations

from collections.abc import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, Shaped

from .._validate import require_x64
from ._settings import EMSettings, authors_init, regularised_units
from ._stage import StageResult, run_stage
from ._state_space import PLRNNStateSpace

__all__ = ["EMFit", "fit_em"]


class EMFit(eqx.Module):
    """The result of `fit_em` for a batch of fits (leading axis F).

    **Arguments:**

    - `model`: the final models (the last stage's highest-ℓ iterate), batched.
    - `initial`: the initial models (the LDS start), batched.
    - `mean`: the final posterior modes, shape ``(F, T, M)``.
    - `variance`: the final posterior variances (V's diagonal), shape ``(F, T, M)``.
    - `ll`: ℓ per stage and iteration, shape ``(F, stages, max_iterations)``.
    - `best_ll`: the returned ℓ of each stage, shape ``(F, stages)``.
    - `iterations`: EM iterations per stage, shape ``(F, stages)``.
    - `passes`: pattern-iteration solves, shape ``(F, stages, max_iterations)``.
    - `violations`: sign violations left after each E-step, same shape.
    """

    model: PLRNNStateSpace
    initial: PLRNNStateSpace
    mean: Float[Array, "F T M"]
    variance: Float[Array, "F T M"]
    ll: Float[Array, "F S I"]
    best_ll: Float[Array, "F S"]
    iterations: Int[Array, "F S"]
    passes: Int[Array, "F S I"]
    violations: Int[Array, "F S I"]


@eqx.filter_jit
def _init_batch(keys, xs, latent_size, input_size, settings):
    return jax.vmap(
        lambda k, x: authors_init(k, latent_size, x, input_size=input_size, settings=settings)
    )(keys, xs)


@eqx.filter_jit
def _stage_batch(
    models, xs, inputs, keys, lam, tau, regularised, learn_B, linear, settings, z_start
):
    def one(m, x, s, k, la, ta, z):
        return run_stage(
            m,
            x,
            s,
            k,
            regularised=regularised,
            lam=la,
            tau=ta,
            learn_B=learn_B,
            linear=linear,
            settings=settings,
            z_start=z,
        )

    in_inputs = None if inputs is None else 0
    in_z = None if z_start is None else 0
    return jax.vmap(one, in_axes=(0, 0, in_inputs, 0, 0, 0, in_z))(
        models, xs, inputs, keys, lam, tau, z_start
    )


def _with_sigma(models: PLRNNStateSpace, sigma: float) -> PLRNNStateSpace:
    return eqx.tree_at(lambda m: m.sigma, models, jnp.full_like(models.sigma, sigma))


def fit_em(
    data: Float[ArrayLike, "F T N"],
    latent_size: int,
    *,
    tau: Float[ArrayLike, " F"] | float = 0.0,
    lam: Float[ArrayLike, " F"] | float | None = None,
    keys: Shaped[Array, "F ..."],
    inputs: Float[ArrayLike, "F T K"] | None = None,
    settings: EMSettings | None = None,
    init: PLRNNStateSpace | None = None,
    progress: Callable[[int, StageResult], None] | None = None,
) -> EMFit:
    """Fit a batch of PLRNN state-space models by EM with annealing, as one vmapped
    program per stage (Schmidt et al., Sect. 3.4; the authors' protocol by default).

    **Arguments:**

    - `data`: F series, shape ``(F, T, N)`` (NaN rows are missing observations).
    - `latent_size`: M.
    - `tau`: τ of the line-attractor prior (W_ij, h_i → 0) per fit, the authors'
      τ_code (= 1500 τ_paper for T = 1501), or one value for all.
    - `lam`: λ of A_ii → 1 per fit (default: ``tau``, as the authors).
    - `keys`: one PRNG key per fit, shape ``(F, 2)`` or typed ``(F,)``.
    - `inputs`: the inputs, shape ``(F, T, K)``, or None.
    - `settings`: the `EMSettings` (default: the authors' protocol).
    - `init`: batched initial models (default: `authors_init` from ``keys``).
    - `progress`: called after each stage with its 1-based number and `StageResult`.

    **Returns:**

    An `EMFit`.
    """
    require_x64("EM fitting (fit_em)")
    settings = EMSettings() if settings is None else settings
    xs = jnp.asarray(data, jnp.float64)
    if xs.ndim != 3:
        raise ValueError(f"fit_em: data must have shape (F, T, N), got {xs.shape}")
    F, T = xs.shape[:2]
    if T < 2:
        raise ValueError(f"fit_em: a series needs T >= 2 steps, got {T}")
    if (
        isinstance(latent_size, bool)
        or not isinstance(latent_size, (int, np.integer))
        or (latent_size < 1)
    ):
        raise ValueError(f"fit_em: latent_size must be an integer >= 1, got {latent_size!r}")
    finite_rows = np.isfinite(np.asarray(xs)).all(-1)
    bad = ~np.isfinite(np.asarray(xs)) & ~np.isnan(np.asarray(xs))
    if bad.any():
        raise ValueError("fit_em: data contains infinite values")
    if not np.all(np.any(finite_rows, axis=1)):
        raise ValueError("fit_em: a series has no observed step")
    tau = jnp.broadcast_to(jnp.asarray(tau, jnp.float64), (F,))
    lam = tau if lam is None else jnp.broadcast_to(jnp.asarray(lam, jnp.float64), (F,))
    if not (np.all(np.isfinite(np.asarray(tau))) and np.all(np.asarray(tau) >= 0)):
        raise ValueError(f"fit_em: tau must be finite and >= 0, got {np.asarray(tau)}")
    if not (np.all(np.isfinite(np.asarray(lam))) and np.all(np.asarray(lam) >= 0)):
        raise ValueError(f"fit_em: lam must be finite and >= 0, got {np.asarray(lam)}")
    ins = None if inputs is None else jnp.asarray(inputs, jnp.float64)
    K = 0 if ins is None else ins.shape[-1]
    keys = jnp.asarray(keys)
    k_init, k_stages = jax.vmap(lambda k: jax.random.split(k), out_axes=1)(keys)
    models = _init_batch(k_init, xs, latent_size, K, settings) if init is None else init
    initial = models
    regularised = jnp.asarray(regularised_units(latent_size, settings.reg_fraction))
    results = []
    for n, sigma in enumerate(settings.sigmas):
        models = _with_sigma(models, sigma)
        stage_keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(k_stages, n)
        # learn_B is traced, so that every PLRNN stage runs one compiled program
        result = _stage_batch(
            models,
            xs,
            ins,
            stage_keys,
            lam,
            tau,
            regularised,
            jnp.asarray(n + 1 < settings.freeze_B_from),
            n == 0,
            settings,
            results[-1].mean if results and settings.stage_start == "previous" else None,
        )
        if progress is not None:
            progress(n + 1, result)
        results.append(result)
        models = result.model
    last = results[-1]
    return EMFit(
        model=last.model,
        initial=initial,
        mean=last.mean,
        variance=last.variance,
        ll=jnp.stack([r.ll for r in results], 1),
        best_ll=jnp.stack([r.best_ll for r in results], 1),
        iterations=jnp.stack([r.iterations for r in results], 1),
        passes=jnp.stack([r.passes for r in results], 1),
        violations=jnp.stack([r.violations for r in results], 1),
    )
