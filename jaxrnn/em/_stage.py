"""One annealing stage of EM iterations at a fixed process noise (Schmidt et al., Sect. 3.4,
Suppl. 7.1.3): E-step, M-step, then ℓ — the log joint at the E-step's mode with the new
parameters, plus the log prior of the penalty — while the first iteration has just run,
or ℓ rose by more than ``tol · |ℓ_1|``, or ℓ fell, for at most ``max_iterations``
iterations. The stage returns its iterate of highest ℓ. Its first E-step starts the
pattern iteration from a random z ~ N(0, I); later ones from the previous mode."""

from __future__ import annotations

from typing import Any

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, Int, PRNGKeyArray

from ._estep import posterior
from ._moments import moments
from ._mstep import m_step, penalty, sufficient_statistics
from ._settings import EMSettings
from ._state_space import PLRNNStateSpace

__all__ = ["StageResult", "run_stage"]


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
    z_start: Float[ArrayLike, "T M"] | None = None,
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
    - `z_start`: where the first E-step starts its pattern iteration (default: a random
      z ~ N(0, I), the authors').

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
    z0 = jax.random.normal(k_z, (T, M), dtype) if z_start is None else jnp.asarray(z_start, dtype)

    def em_iteration(model, z_prev, i):
        key_i = jax.random.fold_in(k_loop, i)
        z_init = jnp.where(i == 0, z0, z_prev)
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
