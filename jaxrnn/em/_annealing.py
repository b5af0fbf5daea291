"""EM with the authors' annealing protocol (seed 003, Sect. 3.4, Suppl. 7.1.3).

A fit is five stages: an LDS (z_t = W z_{t−1} + h + ε_t, x_t = B z_t + η_t, W full,
unregularised) from the authors' random initialisation, then the PLRNN with the fixed
process noise σ annealed 1 → 0.1 → 0.01 → 0.001 (B frozen from the third stage on).
Each stage runs EM iterations (E-step, M-step, then ℓ: the log joint at the E-step's
mode with the new parameters, plus the log prior of the penalty) while the first
iteration has just run, or ℓ rose by more than ``tol · |ℓ_1|``, or ℓ fell, for at
most ``max_iterations`` iterations; it returns the iterate of highest ℓ, which starts
the next stage. Each stage's first E-step starts its pattern iteration from a random
z ~ N(0, I); later ones start from the previous mode.

One stage is one compiled program per shape; `fit_em` runs a batch of fits (series ×
penalty strengths × seeds) through it as one vmapped program.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from .._validate import require_x64
from ._estep import moments, posterior
from ._model import PLRNNStateSpace
from ._mstep import m_step, penalty, sufficient_statistics

__all__ = ["EMSettings", "EMFit", "authors_init", "regularised_units", "fit_em", "run_stage"]


@dataclass(frozen=True)
class EMSettings:
    """The EM and its annealing protocol; the defaults are the authors' values
    (Suppl. 7.1.3; their ``annealing.m``).

    **Arguments:**

    - `sigmas`: the fixed process-noise variance σ (Σ = σI) of each stage; the first
      stage is the LDS.
    - `freeze_B_from`: the first stage (1-based) in which B is held fixed.
    - `tol`: a stage goes on while ℓ rises by more than ``tol · |ℓ_1|`` (or falls).
    - `max_iterations`: EM iterations per stage at most (the authors' MaxIter = 20
      allows 19).
    - `eps`: the singularity guard εI added to H.
    - `pattern_tol`: the sign-pattern iteration stops when its violation error rises
      by ``pattern_tol`` of itself (the authors' tol2).
    - `flip_all_after`: EM iterations of a stage that flip one violated entry per pass;
      later ones flip all (the authors' flipOnIt).
    - `max_passes`: the most linear solves per E-step (the authors' loop had no cap).
    - `cov_floor`: floor of V's diagonal in the PLRNN stages.
    - `lds_cov_floor`: floor of V's diagonal in the LDS stage.
    - `gamma_floor`: floor of the observation-noise variances Γ.
    - `cross_moment`: E[φ(z_k) φ(z_l)], k ≠ l: ``authors`` (their approximation) or
      ``exact`` (the bivariate orthant integral).
    - `reg_fraction`: the first ⌈reg_fraction · M⌉ units are regularised.
    - `observation`: ``relu`` (x = B φ(z) + η, the paper's) or ``identity``.
    - `learn_C`: learn the input weights C (the authors hold C fixed at 0).
    - `init_W_range`: W₀ ~ U(−r, r), shrunk by 0.95 until its spectral radius is < 1.
    - `init_h_std`: h₀ ~ N(0, std²).
    """

    sigmas: tuple[float, ...] = (1.0, 1.0, 0.1, 0.01, 0.001)
    freeze_B_from: int = 3
    tol: float = 1e-3
    max_iterations: int = 19
    eps: float = 1e-5
    pattern_tol: float = 1e-2
    flip_all_after: int = 10
    max_passes: int = 200
    cov_floor: float = 1e-4
    lds_cov_floor: float = 1e-9
    gamma_floor: float = 1e-5
    cross_moment: Literal["authors", "exact"] = "authors"
    reg_fraction: float = 0.5
    observation: Literal["relu", "identity"] = "relu"
    learn_C: bool = False
    init_W_range: float = 1.5
    init_h_std: float = 0.5

    def __post_init__(self):
        problems = []
        if not self.sigmas or any(not (s > 0 and math.isfinite(s)) for s in self.sigmas):
            problems.append(f"sigmas must be positive and finite, got {list(self.sigmas)}")
        for name in ("tol", "eps", "pattern_tol", "cov_floor", "lds_cov_floor", "gamma_floor"):
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                problems.append(f"{name} must be positive and finite, got {value!r}")
        for name in ("max_iterations", "max_passes"):
            if getattr(self, name) < 1:
                problems.append(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if self.flip_all_after < 0:
            problems.append(f"flip_all_after must be >= 0, got {self.flip_all_after!r}")
        if not 0.0 <= self.reg_fraction <= 1.0:
            problems.append(f"reg_fraction must be in [0, 1], got {self.reg_fraction!r}")
        if self.cross_moment not in ("authors", "exact"):
            problems.append(f"cross_moment must be authors or exact, got {self.cross_moment!r}")
        if self.observation not in ("relu", "identity"):
            problems.append(f"observation must be relu or identity, got {self.observation!r}")
        if self.init_W_range <= 0 or self.init_h_std < 0:
            problems.append("init_W_range must be > 0 and init_h_std >= 0")
        if problems:
            raise ValueError("EMSettings: " + "; ".join(problems))

    def replace(self, **changes) -> EMSettings:
        return dataclasses.replace(self, **changes)


def regularised_units(M: int, fraction: float = 0.5) -> np.ndarray:
    """The line-attractor units: the first ⌈fraction · M⌉ (the authors' R)."""
    n = math.ceil(fraction * M - 1e-9)
    return np.arange(M) < n


def authors_init(
    key: PRNGKeyArray,
    latent_size: int,
    x: Float[ArrayLike, "T N"],
    *,
    input_size: int = 0,
    settings: EMSettings = EMSettings(),
) -> PLRNNStateSpace:
    """The authors' random initialisation (their ``annealing.m``), as the LDS of stage 1:
    W₀ ~ U(−1.5, 1.5)^{M×M} multiplied by 0.95 until every |eig| < 1 (its diagonal
    stored in ``A``), h₀ ~ N(0, 0.5²), B₀ ~ N(0, 1), μ₀ ~ N(0, 1), C = 0, Σ = I and Γ₀ the
    sample variances of the data."""
    x = jnp.asarray(x)
    dtype = x.dtype
    M, N = latent_size, x.shape[-1]
    kW, kh, kB, kmu = jax.random.split(key, 4)
    r = settings.init_W_range
    W0 = jax.random.uniform(kW, (M, M), dtype, -r, r)
    rho = jnp.max(jnp.abs(jnp.linalg.eigvals(W0)))
    # the loop "while any |eig| >= 1: W *= 0.95" runs k = floor(log ρ / log(1/0.95)) + 1 times
    k = jnp.where(rho >= 1, jnp.floor(jnp.log(rho) / -math.log(0.95)) + 1, 0.0)
    W0 = W0 * jnp.asarray(0.95, dtype) ** k.astype(dtype)
    seen = jnp.all(jnp.isfinite(x), axis=-1)
    xs = jnp.where(seen[:, None], x, 0.0)
    n = jnp.sum(seen)
    mean = jnp.sum(xs, 0) / n
    var = jnp.sum(jnp.where(seen[:, None], (x - mean) ** 2, 0.0), 0) / (n - 1)
    return PLRNNStateSpace(
        A=jnp.diagonal(W0),
        W=W0 * (1 - jnp.eye(M, dtype=dtype)),
        h=settings.init_h_std * jax.random.normal(kh, (M,), dtype),
        C=jnp.zeros((M, input_size), dtype),
        mu0=jax.random.normal(kmu, (M,), dtype),
        B=jax.random.normal(kB, (N, M), dtype),
        Gamma=var,
        sigma=jnp.asarray(settings.sigmas[0], dtype),
        observation=settings.observation,
    )


class StageResult(eqx.Module):
    """One annealing stage: the highest-ℓ iterate and its trace.

    **Arguments:**

    - `model`: the parameters of the highest-ℓ iteration.
    - `mean`: that iteration's posterior mode, shape ``(T, M)``.
    - `variance`: the diagonal of that iteration's V_tt, shape ``(T, M)``.
    - `best_ll`: its ℓ.
    - `ll`: ℓ per iteration, shape ``(max_iterations,)``, NaN after the last.
    - `passes`: solves of the pattern iteration per EM iteration.
    - `violations`: sign violations left at the end of each E-step.
    - `iterations`: EM iterations run.
    """

    model: PLRNNStateSpace
    mean: Float[Array, "T M"]
    variance: Float[Array, "T M"]
    best_ll: Float[Array, ""]
    ll: Float[Array, " I"]
    passes: Int[Array, " I"]
    violations: Int[Array, " I"]
    iterations: Int[Array, ""]


def run_stage(
    model: PLRNNStateSpace,
    x: Float[ArrayLike, "T N"],
    inputs: Float[ArrayLike, "T K"] | None,
    key: PRNGKeyArray,
    *,
    regularised: ArrayLike,
    lam: Float[ArrayLike, ""],
    tau: Float[ArrayLike, ""],
    learn_B: bool | ArrayLike,
    linear: bool,
    settings: EMSettings,
) -> StageResult:
    """One stage of EM iterations at the model's fixed σ (see the module docstring).

    **Arguments:**

    - `model`: the starting parameters (σ is this stage's).
    - `x`: the observations, shape ``(T, N)``.
    - `inputs`: the inputs, shape ``(T, K)``, or None.
    - `key`: the stage's randomness (the first E-step's z, the pattern hash).
    - `regularised`: the line-attractor units, shape ``(M,)`` bool.
    - `lam`: λ of A_ii → 1.
    - `tau`: τ of W_ij, h_i → 0.
    - `learn_B`: whether B is updated.
    - `linear`: the LDS stage.
    - `settings`: the `EMSettings`.

    **Returns:**

    The `StageResult`.
    """
    x = jnp.asarray(x, model.A.dtype)
    T, M = x.shape[0], model.latent_size
    n_it = settings.max_iterations
    dtype = model.A.dtype
    lam = jnp.asarray(lam, dtype)
    tau = jnp.asarray(tau, dtype)
    identity_obs = linear or settings.observation == "identity"
    k_z, k_loop = jax.random.split(key)

    def em_iteration(model, z_prev, i):
        key_i = jax.random.fold_in(k_loop, i)
        z_init = jnp.where(i == 0, jax.random.normal(k_z, (T, M), dtype), z_prev)
        post = posterior(
            model,
            x,
            z_init,
            inputs,
            key=key_i,
            single_flip=i < settings.flip_all_after,
            linear=linear,
            eps=settings.eps,
            tol=settings.pattern_tol,
            max_passes=settings.max_passes,
            cov_floor=settings.lds_cov_floor if linear else settings.cov_floor,
        )
        mom = moments(post, linear=linear, cross=settings.cross_moment)
        stats = sufficient_statistics(mom, x, inputs, observation_identity=identity_obs)
        new = m_step(
            model,
            stats,
            regularised=regularised,
            lam=lam,
            tau=tau,
            learn_B=learn_B,
            learn_C=settings.learn_C,
            linear=linear,
            gamma_floor=settings.gamma_floor,
        )
        ll = new.log_joint(post.mean, x, inputs, linear=linear)
        if not linear:
            ll = ll + penalty(new, regularised, lam, tau)
        return new, post, ll

    nan = jnp.asarray(jnp.nan, dtype)
    init: dict[str, Any] = dict(
        i=jnp.asarray(0),
        model=model,
        z=jnp.zeros((T, M), dtype),
        ll1=nan,
        ll_prev=nan,
        best=model,
        best_mean=jnp.zeros((T, M), dtype),
        best_var=jnp.zeros((T, M), dtype),
        best_ll=jnp.asarray(-jnp.inf, dtype),
        trace=jnp.full((n_it,), jnp.nan, dtype),
        passes=jnp.zeros((n_it,), int),
        violations=jnp.zeros((n_it,), int),
        go=jnp.asarray(True),
    )

    def body(s: dict[str, Any]) -> dict[str, Any]:
        i = s["i"]
        new, post, ll = em_iteration(s["model"], s["z"], i)
        finite = jnp.isfinite(ll)
        better = finite & (ll > s["best_ll"])
        pick = lambda a, b: jax.tree_util.tree_map(lambda u, w: jnp.where(better, u, w), a, b)
        ll1 = jnp.where(i == 0, ll, s["ll1"])
        dll = ll - s["ll_prev"]
        more = (i == 0) | (dll > settings.tol * jnp.abs(ll1)) | (dll < 0)
        return dict(
            i=i + 1,
            model=new,
            z=post.mean,
            ll1=ll1,
            ll_prev=ll,
            best=pick(new, s["best"]),
            best_mean=jnp.where(better, post.mean, s["best_mean"]),
            best_var=jnp.where(
                better, jnp.diagonal(post.cov_diag, axis1=1, axis2=2), s["best_var"]
            ),
            best_ll=jnp.where(better, ll, s["best_ll"]),
            trace=s["trace"].at[i].set(ll),
            passes=s["passes"].at[i].set(post.passes),
            violations=s["violations"].at[i].set(post.violations),
            go=more & finite & (i + 1 < n_it),
        )

    s = jax.lax.while_loop(lambda s: s["go"], body, init)
    return StageResult(
        s["best"],
        s["best_mean"],
        s["best_var"],
        s["best_ll"],
        s["trace"],
        s["passes"],
        s["violations"],
        s["i"],
    )


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
def _stage_batch(models, xs, inputs, keys, lam, tau, regularised, learn_B, linear, settings):
    def one(m, x, s, k, la, ta):
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
        )

    in_inputs = None if inputs is None else 0
    return jax.vmap(one, in_axes=(0, 0, in_inputs, 0, 0, 0))(models, xs, inputs, keys, lam, tau)


def _with_sigma(models: PLRNNStateSpace, sigma: float) -> PLRNNStateSpace:
    return eqx.tree_at(lambda m: m.sigma, models, jnp.full_like(models.sigma, sigma))


def fit_em(
    data: Float[ArrayLike, "F T N"],
    latent_size: int,
    *,
    tau: Float[ArrayLike, " F"] | float = 0.0,
    lam: Float[ArrayLike, " F"] | float | None = None,
    keys: PRNGKeyArray,
    inputs: Float[ArrayLike, "F T K"] | None = None,
    settings: EMSettings = EMSettings(),
    init: PLRNNStateSpace | None = None,
    progress: Callable[[int, StageResult], None] | None = None,
) -> EMFit:
    """Fit a batch of PLRNN state-space models by EM with annealing, as one vmapped
    program per stage (seed 003, Sect. 3.4; the authors' protocol by default).

    **Arguments:**

    - `data`: F series, shape ``(F, T, N)`` (NaN rows are missing observations).
    - `latent_size`: M.
    - `tau`: τ of the line-attractor prior (W_ij, h_i → 0) per fit, the authors'
      τ_code (= 1500 τ_paper for T = 1501), or one value for all.
    - `lam`: λ of A_ii → 1 per fit (default: ``tau``, as the authors).
    - `keys`: one PRNG key per fit, shape ``(F, 2)`` or typed ``(F,)``.
    - `inputs`: the inputs, shape ``(F, T, K)``, or None.
    - `settings`: the `EMSettings`.
    - `init`: batched initial models (default: `authors_init` from ``keys``).
    - `progress`: called after each stage with its 1-based number and `StageResult`.

    **Returns:**

    An `EMFit`.
    """
    require_x64("EM fitting (fit_em)")
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
        result = _stage_batch(
            models,
            xs,
            ins,
            stage_keys,
            lam,
            tau,
            regularised,
            n + 1 < settings.freeze_B_from,
            n == 0,
            settings,
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
