"""Symmetric positive-definite block-tridiagonal matrices (Schmidt et al., Suppl. 7.1.3, eq. 22).

The E-step's Hessian H(d) of the negative log joint over z = (z_1; …; z_T) couples only
neighbouring time steps, so it is stored as its T diagonal blocks ``diag[t] = H_tt`` and
T − 1 sub-diagonal blocks ``lower[t] = H_{t+1,t}`` (M × M each), never as a dense
MT × MT matrix. Both the solve and the two block bands of the inverse are one forward
and one backward ``lax.scan`` (block LDLᵀ with a Cholesky factor of every pivot):
O(T M³) time and O(T M²) memory.

Forward (pivots): S_1 = H_11, S_t = H_tt − L_t S_{t−1}⁻¹ L_tᵀ with L_t = H_{t,t−1}.
Solve: y_t = v_t − L_t S_{t−1}⁻¹ y_{t−1}; z_T = S_T⁻¹ y_T; z_t = S_t⁻¹ (y_t − L_{t+1}ᵀ z_{t+1}).
Inverse bands: V_TT = S_T⁻¹; G_t = S_t⁻¹ L_{t+1}ᵀ; V_tt = S_t⁻¹ + G_t V_{t+1,t+1} G_tᵀ;
V_{t+1,t} = −V_{t+1,t+1} G_tᵀ (the same blocks as the authors' forward/backward
recursion V_tt = (S^F_t + S^B_t − H_tt)⁻¹, computed without differences of large terms).
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
from jaxtyping import Array, Float

__all__ = ["BlockTridiagonal"]


def _chol_solve(factor, rhs):
    return jsl.cho_solve((factor, True), rhs)


class BlockTridiagonal(eqx.Module):
    """A symmetric block-tridiagonal matrix by its bands.

    **Arguments:**

    - `diag`: the diagonal blocks H_tt, shape ``(T, M, M)``, each symmetric.
    - `lower`: the sub-diagonal blocks H_{t+1,t}, shape ``(T − 1, M, M)``
      (the super-diagonal blocks are their transposes).
    """

    diag: Float[Array, "T M M"]
    lower: Float[Array, "Tm1 M M"]

    @eqx.filter_jit  # one program per shape for eager callers (inlined under jit)
    def to_dense(self) -> Float[Array, "TM TM"]:
        """The dense MT × MT matrix (for tests and small problems only)."""
        T, M, _ = self.diag.shape
        dense = jnp.zeros((T * M, T * M), self.diag.dtype)
        for t in range(T):
            dense = dense.at[t * M : (t + 1) * M, t * M : (t + 1) * M].set(self.diag[t])
        for t in range(T - 1):
            blk = self.lower[t]
            dense = dense.at[(t + 1) * M : (t + 2) * M, t * M : (t + 1) * M].set(blk)
            dense = dense.at[t * M : (t + 1) * M, (t + 1) * M : (t + 2) * M].set(blk.T)
        return dense

    @eqx.filter_jit
    def matvec(self, z: Float[Array, "T M"]) -> Float[Array, "T M"]:
        """H z for z shaped ``(T, M)``."""
        out = jnp.einsum("tij,tj->ti", self.diag, z)
        out = out.at[1:].add(jnp.einsum("tij,tj->ti", self.lower, z[:-1]))
        return out.at[:-1].add(jnp.einsum("tji,tj->ti", self.lower, z[1:]))

    @eqx.filter_jit
    def pivots(self) -> Float[Array, "T M M"]:
        """Lower Cholesky factors of the block-LDLᵀ pivots S_t."""
        first = jnp.linalg.cholesky(self.diag[0])

        def step(prev, blocks):
            h_tt, l_t = blocks
            x = _chol_solve(prev, l_t.T)  # S_{t−1}⁻¹ L_tᵀ
            s_t = h_tt - l_t @ x
            factor = jnp.linalg.cholesky(0.5 * (s_t + s_t.T))
            return factor, factor

        _, rest = jax.lax.scan(step, first, (self.diag[1:], self.lower))
        return jnp.concatenate([first[None], rest])

    @eqx.filter_jit
    def solve(
        self, v: Float[Array, "T M"], factors: Float[Array, "T M M"] | None = None
    ) -> Float[Array, "T M"]:
        """H⁻¹ v for v shaped ``(T, M)`` (``factors``: `pivots`, when already computed)."""
        if factors is None:  # factor and eliminate in one forward pass

            def forward_factor(carry, blocks):
                f_prev, y_prev = carry
                h_tt, l_t, v_t = blocks
                x = _chol_solve(f_prev, jnp.concatenate([l_t.T, y_prev[:, None]], axis=1))
                s_t = h_tt - l_t @ x[:, :-1]
                f_t = jnp.linalg.cholesky(0.5 * (s_t + s_t.T))
                y_t = v_t - l_t @ x[:, -1]
                return (f_t, y_t), (f_t, y_t)

            first = jnp.linalg.cholesky(self.diag[0])
            _, (fs, ys) = jax.lax.scan(
                forward_factor, (first, v[0]), (self.diag[1:], self.lower, v[1:])
            )
            factors = jnp.concatenate([first[None], fs])
        else:

            def forward(y_prev, blocks):
                f_prev, l_t, v_t = blocks
                y_t = v_t - l_t @ _chol_solve(f_prev, y_prev)
                return y_t, y_t

            _, ys = jax.lax.scan(forward, v[0], (factors[:-1], self.lower, v[1:]))
        ys = jnp.concatenate([v[:1], ys])
        z_last = _chol_solve(factors[-1], ys[-1])

        def backward(z_next, blocks):
            f_t, l_next, y_t = blocks
            z_t = _chol_solve(f_t, y_t - l_next.T @ z_next)
            return z_t, z_t

        _, zs = jax.lax.scan(backward, z_last, (factors[:-1], self.lower, ys[:-1]), reverse=True)
        return jnp.concatenate([zs, z_last[None]])

    @eqx.filter_jit
    def inverse_bands(
        self, factors: Float[Array, "T M M"] | None = None
    ) -> tuple[Float[Array, "T M M"], Float[Array, "Tm1 M M"]]:
        """The diagonal blocks V_tt and sub-diagonal blocks V_{t+1,t} of V = H⁻¹."""
        factors = self.pivots() if factors is None else factors
        M = self.diag.shape[-1]
        eye = jnp.eye(M, dtype=self.diag.dtype)
        last = _chol_solve(factors[-1], eye)

        def backward(v_next, blocks):
            f_t, l_next = blocks
            s_inv = _chol_solve(f_t, eye)
            g = s_inv @ l_next.T  # G_t = S_t⁻¹ L_{t+1}ᵀ
            v_t = s_inv + g @ v_next @ g.T
            v_t = 0.5 * (v_t + v_t.T)
            return v_t, (v_t, -v_next @ g.T)

        _, (v_diag, v_lower) = jax.lax.scan(
            backward, last, (factors[:-1], self.lower), reverse=True
        )
        return jnp.concatenate([v_diag, last[None]]), v_lower
