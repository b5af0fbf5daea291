"""Measurements a system sweep can make at every grid point (pure JAX: vmap-able).

Each study takes the base CTRNN's settings and the grid point's values and
returns a dict of scalars. Grid axes may be ``tau`` (R_τ), ``dt`` (D_Δ),
``decay`` (λ), ``gain`` (the weight scale at initialisation) and ``y0_scale``.

- ``euler_error``: the global error of forward Euler on the τ-rescaled CTRNN,
  max over its ``n_steps`` steps of Δ of ‖y_k − y(kΔ)‖ against an adaptive
  Tsit5 reference of the same system (rtol = atol = ``reference_tol``; inf
  once Euler overflows), and whether the Euler map is stable
  at the origin: the spectral radius of ``I + Δ·J``, J the Jacobian of
  ``L R_τ`` (Caruso & Jarne, Sect. 1 stability remark). Since Euler with Δ on R_τ is
  Euler with τΔ on the original (``[R_τ, D_Δ] = 0``), both depend on τΔ only.
- ``trajectory``: statistics of an ``n_steps`` run with ``solver``: final,
  mean and max state norm.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import ArrayLike
from numpy.typing import DTypeLike

from .._operators import linearise, rescale
from .._simulate import simulate
from .._system_kinds import LinearFlow
from ..models import CTRNN
from ._sweep_file import SweepError

__all__ = ["STUDIES", "SYSTEM_AXES", "build_ctrnn", "spectral_radius", "make_study"]

SYSTEM_AXES = ("tau", "dt", "decay", "gain", "y0_scale")
BASE_KEYS = {
    "model": "ctrnn",
    "hidden_size": 8,
    "activation": "tanh",
    "decay": 1.0,
    "recurrent": "free",
    "form": "activation",
    "gain": 1.0,
    "seed": 0,
}
STUDY_DEFAULTS = {
    "euler_error": {
        "n_steps": 200,
        "reference_tol": 1e-10,
        "y0_scale": 1.0,
        "y0_seed": 1,
        "tau": 1.0,
        "dt": 0.01,
    },
    "trajectory": {
        "n_steps": 1000,
        "solver": "euler",
        "y0_scale": 1.0,
        "y0_seed": 1,
        "tau": 1.0,
        "dt": 0.01,
    },
}
STUDY_OUTPUTS = {
    "euler_error": (
        "euler_error",
        "euler_spectral_radius",
        "euler_stable",
        "tau_dt",
        "reference_norm",
    ),
    "trajectory": ("final_norm", "mean_norm", "max_norm"),
}
STUDIES = tuple(STUDY_DEFAULTS)
"""The measures a system sweep can compute (its ``measure:`` names)."""


def spectral_radius(M, squarings: int = 40):
    """ρ(M) from ‖M^(2^k)‖^(1/2^k) by repeated, renormalised squaring (any device; no eig).

    **Arguments:**

    - `M`: a square matrix (or a batch of them, leading axes).
    - `squarings`: k, the number of squarings (the estimate converges like
      ``(|λ_2|/|λ_1|)^(2^k)``).

    **Returns:**

    The spectral radius estimate (scalar, or one per matrix).
    """

    def body(carry, _):
        m, log_c = carry
        m = m @ m
        n = jnp.linalg.norm(m)
        return (m / n, 2 * log_c + jnp.log(n)), None

    n0 = jnp.linalg.norm(M)
    (m, log_c), _ = jax.lax.scan(body, (M / n0, jnp.log(n0)), None, length=squarings)
    return jnp.exp((log_c + jnp.log(jnp.linalg.norm(m))) / 2.0**squarings)


def build_ctrnn(
    base: dict,
    decay: ArrayLike | None = None,
    gain: float | None = None,
    dtype: DTypeLike | None = None,
) -> CTRNN:
    unknown = sorted(set(base) - set(BASE_KEYS))
    if unknown:
        raise SweepError(
            f"unknown sweep key 'base.{unknown[0]}' (known: {', '.join(sorted(BASE_KEYS))})"
        )
    b = {**BASE_KEYS, **base}
    if b["model"] != "ctrnn":
        raise SweepError(f"sweep key 'base.model': system sweeps build a ctrnn, got {b['model']!r}")
    try:
        return CTRNN(
            int(b["hidden_size"]),
            0,
            activation=b["activation"],
            decay=b["decay"] if decay is None else decay,
            recurrent=b["recurrent"],
            form=b["form"],
            gain=b["gain"] if gain is None else gain,
            dtype=dtype,
            key=jax.random.PRNGKey(int(b["seed"])),
        )
    except (ValueError, TypeError) as e:
        raise SweepError(f"sweep key 'base': {e}") from None


def make_study(base: dict, measure: dict, axes: tuple[str, ...], dtype):
    """``fn(**point) -> dict`` for `jaxrnn.sweep`, and the names of its outputs."""
    name = measure.get("name", "euler_error")
    if name not in STUDIES:
        raise SweepError(
            f"sweep key 'measure.name': must be one of {', '.join(STUDIES)}, got {name!r}"
        )
    settings = dict(STUDY_DEFAULTS[name])
    for k, v in measure.items():
        if k == "name":
            continue
        if k not in settings:
            raise SweepError(
                f"unknown sweep key 'measure.{k}' (known: {', '.join(sorted(settings))})"
            )
        settings[k] = v
    for a in axes:
        if a not in SYSTEM_AXES:
            raise SweepError(
                f"sweep key 'axes.{a}': a system sweep can vary {', '.join(SYSTEM_AXES)}"
            )
    build_ctrnn(base, dtype=dtype)  # validate the base once, eagerly
    n_steps = int(settings["n_steps"])

    def point(**p):
        get = lambda k: p.get(k, jnp.asarray(settings.get(k, 1.0), dtype))  # noqa: E731
        system = build_ctrnn(base, decay=p.get("decay"), gain=p.get("gain"), dtype=dtype)
        tau, dt = get("tau"), get("dt")
        flow = rescale(system, tau)
        M = system.state_size
        y0 = get("y0_scale") * jax.random.normal(
            jax.random.PRNGKey(int(settings["y0_seed"])), (M,), dtype
        )
        if name == "trajectory":
            ys = simulate(
                flow, y0, n_steps, dt=dt, solver=settings["solver"], divergence_threshold=None
            ).ys
            norms = jnp.linalg.norm(ys, axis=-1)
            return {
                "final_norm": norms[-1],
                "mean_norm": jnp.mean(norms),
                "max_norm": jnp.max(norms),
            }
        euler = simulate(flow, y0, n_steps, dt=dt, solver="euler", divergence_threshold=None).ys
        tol = float(settings["reference_tol"])
        ts = dt * jnp.arange(n_steps + 1, dtype=dtype)
        ref = simulate(
            flow,
            y0,
            t1=ts[-1],
            solver="tsit5",
            saveat=ts,
            rtol=tol,
            atol=tol,
            max_steps=100_000,
            divergence_threshold=None,
        ).ys
        err = jnp.linalg.norm(euler - ref, axis=-1)
        err = jnp.where(jnp.all(jnp.isfinite(euler)), jnp.max(err), jnp.inf)
        lin = linearise(flow)
        assert isinstance(lin, LinearFlow)
        J = lin.A
        rho = spectral_radius(jnp.eye(M, dtype=dtype) + dt * J)
        return {
            "euler_error": err,
            "euler_spectral_radius": rho,
            "euler_stable": (rho < 1.0).astype(dtype),
            "tau_dt": tau * dt,
            "reference_norm": jnp.max(jnp.linalg.norm(ref, axis=-1)),
        }

    return point, STUDY_OUTPUTS[name]
