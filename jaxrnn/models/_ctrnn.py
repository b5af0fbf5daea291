"""Continuous-time RNN (Caruso & Jarne, eq. 2; Casoni et al. with skew-symmetric W)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, ArrayLike, Float, PRNGKeyArray

from .._activations import AbstractActivation
from .._activations_user import get_activation
from .._system_kinds import AbstractContinuousSystem
from .._validate import check_size, check_value

__all__ = ["CTRNN"]


class CTRNN(AbstractContinuousSystem):
    r"""The continuous-time RNN ``h'(t) = -λ h + σ(W h + b + W_in x(t))`` (Caruso & Jarne, eq. 2).

    With ``form="rate"`` it is instead ``h' = -λ h + W σ(h) + b + W_in x`` (the
    form ``z' = A σ(z)`` of Casoni et al.). The two are conjugate through u = W h
    when W is invertible; a skew-symmetric W of odd size never is.

    **Arguments:**

    - ``hidden_size``: n, the number of units.
    - ``input_size``: k, the number of input channels (0 for an autonomous net).
    - ``activation``: a name (tanh, hardtanh, relu, sigmoid, identity), an
      activation object, or any elementwise callable.
    - ``decay``: λ, a scalar or one value per unit.
    - ``recurrent``: ``"free"`` (W is a free parameter) or ``"skew"`` (W = S − Sᵀ,
      exactly skew-symmetric for every parameter value: Casoni et al.).
    - ``form``: ``"activation"`` (σ of the weighted sum, eq. 2) or ``"rate"``
      (weighted sum of σ).
    - ``gain``: standard deviation of W's entries times √n at initialisation.
    - ``dtype``: the parameters' dtype (default: JAX's default float).
    - ``key``: PRNG key for the initial parameters (W ~ N(0, gain²/n),
      W_in ~ N(0, 1/k), b = 0).
    """

    weight: Float[Array, "n n"]
    bias: Float[Array, " n"]
    input_weight: Float[Array, "n k"]
    decay: Float[Array, "*n"]
    activation: AbstractActivation
    recurrent: Literal["free", "skew"] = eqx.field(static=True)
    form: Literal["activation", "rate"] = eqx.field(static=True)

    def __init__(
        self,
        hidden_size: int,
        input_size: int = 0,
        *,
        activation: str | Callable | AbstractActivation = "tanh",
        decay: ArrayLike = 1.0,
        recurrent: Literal["free", "skew"] = "free",
        form: Literal["activation", "rate"] = "activation",
        gain: float = 1.0,
        dtype=None,
        key: PRNGKeyArray,
    ):
        if recurrent not in ("free", "skew"):
            raise ValueError(f"recurrent must be 'free' or 'skew', got {recurrent!r}")
        if form not in ("activation", "rate"):
            raise ValueError(f"form must be 'activation' or 'rate', got {form!r}")
        hidden_size = check_size("CTRNN", "hidden_size", hidden_size, 1)
        input_size = check_size("CTRNN", "input_size", input_size, 0)
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        kw, ki = jax.random.split(key)
        n, k = hidden_size, input_size
        w = jax.random.normal(kw, (n, n), dtype) * (gain / math.sqrt(n))
        # S − Sᵀ doubles the variance of a Gaussian S: halve it to keep W's scale.
        self.weight = w / math.sqrt(2.0) if recurrent == "skew" else w
        self.bias = jnp.zeros((n,), dtype)
        self.input_weight = jax.random.normal(ki, (n, k), dtype) / math.sqrt(max(k, 1))
        self.decay = jnp.asarray(decay, dtype)
        self.activation = get_activation(activation)
        self.recurrent = recurrent
        self.form = form
        _check_decay(self.decay, n)

    @classmethod
    def from_arrays(
        cls,
        W: ArrayLike,
        b: ArrayLike | None = None,
        W_in: ArrayLike | None = None,
        decay: ArrayLike = 1.0,
        activation: str | Callable | AbstractActivation = "tanh",
        recurrent: Literal["free", "skew"] = "free",
        form: Literal["activation", "rate"] = "activation",
    ) -> CTRNN:
        """A CTRNN with the given W, b, W_in, λ. With ``recurrent="skew"`` W must be
        skew-symmetric (it is stored as S = W/2, so that S − Sᵀ = W)."""
        W = jnp.asarray(W)
        if W.ndim != 2 or W.shape[0] != W.shape[1]:
            raise ValueError(f"CTRNN.from_arrays: W must be square, got shape {W.shape}")
        n = W.shape[0]
        b = jnp.zeros((n,), W.dtype) if b is None else jnp.asarray(b, W.dtype)
        W_in = jnp.zeros((n, 0), W.dtype) if W_in is None else jnp.asarray(W_in, W.dtype)
        if b.shape != (n,):
            raise ValueError(f"CTRNN.from_arrays: b must have shape ({n},), got {b.shape}")
        if W_in.ndim != 2 or W_in.shape[0] != n:
            raise ValueError(f"CTRNN.from_arrays: W_in must have shape ({n}, k), got {W_in.shape}")
        if recurrent == "skew":
            W = check_value(
                W,
                lambda xp, v: xp.abs(v + v.T) > 1e-8 + 1e-5 * xp.abs(v.T),
                "CTRNN.from_arrays: recurrent='skew' needs W = -Wᵀ",
            )
            weight = W / 2
        elif recurrent == "free":
            weight = W
        else:
            raise ValueError(f"recurrent must be 'free' or 'skew', got {recurrent!r}")
        decay = jnp.asarray(decay, W.dtype)
        _check_decay(decay, n)
        template = cls(
            n,
            W_in.shape[1],
            activation=activation,
            recurrent=recurrent,
            form=form,
            dtype=W.dtype,
            key=jax.random.PRNGKey(0),
        )
        return eqx.tree_at(
            lambda m: (m.weight, m.bias, m.input_weight, m.decay),
            template,
            (weight, b, W_in, decay),
        )

    @property
    def W(self) -> Float[Array, "n n"]:
        """The recurrent matrix (S − Sᵀ for a skew network)."""
        if self.recurrent == "skew":
            return self.weight - self.weight.T
        return self.weight

    @property
    def state_size(self) -> int:
        return self.weight.shape[0]

    @property
    def input_size(self) -> int:
        return self.input_weight.shape[1]

    def vector_field(self, t, h, x):
        """F(h, x) = -λ h + σ(W h + b + W_in x) (eq. 2), or -λ h + W σ(h) + b + W_in x."""
        drive = self.bias + self.input_weight @ x
        if self.form == "rate":
            return -self.decay * h + self.W @ self.activation(h) + drive
        return -self.decay * h + self.activation(self.W @ h + drive)


def _check_decay(decay, n):
    if decay.ndim > 1 or (decay.ndim == 1 and decay.shape[0] != n):
        raise ValueError(f"decay must be a scalar or have shape ({n},), got {decay.shape}")
