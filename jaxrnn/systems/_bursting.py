"""The bursting neuron model of the rPLRNN paper (Schmidt et al., Suppl. 7.1.5; Durstewitz 2009).

``C_m V' = −g_L(V−E_L) − g_Na m∞(V)(V−E_Na) − g_K n (V−E_K) − g_M h (V−E_K) − g_NMDA σ(V) V``,
``n' = (n∞(V) − n)/τ_n``, ``h' = (h∞(V) − h)/τ_h``, with
``σ(V) = 1/(1 + 0.33 e^{−0.0625 V})`` and ``x∞(V) = 1/(1 + e^{(V_hx − V)/k_x})``.
Units: ms, mV, mS, µF. The slow M-current gate h (τ_h = 200 ms) turns fast
spiking (τ_n = 1 ms) on and off: bursts of spikes riding on a slow oscillation.
"""

from __future__ import annotations

import equinox as eqx
import jax.numpy as jnp
from jaxtyping import Array, Float

from .._system_kinds import AbstractAutonomousFlow

__all__ = ["BurstingNeuron", "BURSTING_INITIAL_STATE"]

BURSTING_INITIAL_STATE = (
    -24.47,
    0.0386,
    0.0231,
)  # (V, n, h), Schmidt et al., Sect. 4.2 (the authors' data)
"""The bursting neuron's initial state (V, n, h) of the authors' data."""


def _f(default):
    return eqx.field(default=default, converter=jnp.asarray)


class BurstingNeuron(AbstractAutonomousFlow):
    """State (V, n, h); every parameter is a field (change one with ``eqx.tree_at`` or
    the constructor); the defaults are the parameters of the bursting-neuron data of
    Schmidt et al., Sect. 4.2 (equations in the module docstring).

    **Arguments:**

    - `C_m`: membrane capacitance (µF).
    - `g_L`: leak conductance (mS).
    - `E_L`: leak reversal potential (mV).
    - `g_Na`: sodium conductance (mS).
    - `E_Na`: sodium reversal potential (mV).
    - `V_hNa`: half-activation voltage of the sodium gate m∞ (mV).
    - `k_Na`: slope of m∞ (mV).
    - `g_K`: potassium conductance (mS).
    - `E_K`: potassium reversal potential (mV), also that of the M-current.
    - `V_hK`: half-activation voltage of the potassium gate n∞ (mV).
    - `k_K`: slope of n∞ (mV).
    - `tau_n`: time constant of n (ms).
    - `g_M`: M-current conductance (mS).
    - `V_hM`: half-activation voltage of the M-current gate h∞ (mV).
    - `k_M`: slope of h∞ (mV).
    - `tau_h`: time constant of h (ms): the slow variable that turns bursts on and off.
    - `g_NMDA`: NMDA conductance (mS).
    """

    dimension = 3
    C_m: Float[Array, ""] = _f(6.0)
    g_L: Float[Array, ""] = _f(8.0)
    E_L: Float[Array, ""] = _f(-80.0)
    g_Na: Float[Array, ""] = _f(20.0)
    E_Na: Float[Array, ""] = _f(60.0)
    V_hNa: Float[Array, ""] = _f(-20.0)
    k_Na: Float[Array, ""] = _f(15.0)
    g_K: Float[Array, ""] = _f(10.0)
    E_K: Float[Array, ""] = _f(-90.0)
    V_hK: Float[Array, ""] = _f(-25.0)
    k_K: Float[Array, ""] = _f(5.0)
    tau_n: Float[Array, ""] = _f(1.0)
    g_M: Float[Array, ""] = _f(25.0)
    V_hM: Float[Array, ""] = _f(-15.0)
    k_M: Float[Array, ""] = _f(5.0)
    tau_h: Float[Array, ""] = _f(200.0)
    g_NMDA: Float[Array, ""] = _f(10.2)

    @staticmethod
    def _inf(V, V_h, k):
        return 1.0 / (1.0 + jnp.exp((V_h - V) / k))

    def vector_field(self, t, y, x):
        V, n, h = y[0], y[1], y[2]
        m_inf = self._inf(V, self.V_hNa, self.k_Na)
        sigma = 1.0 / (1.0 + 0.33 * jnp.exp(-0.0625 * V))
        dV = (
            -self.g_L * (V - self.E_L)
            - self.g_Na * m_inf * (V - self.E_Na)
            - self.g_K * n * (V - self.E_K)
            - self.g_M * h * (V - self.E_K)
            - self.g_NMDA * sigma * V
        ) / self.C_m
        dn = (self._inf(V, self.V_hK, self.k_K) - n) / self.tau_n
        dh = (self._inf(V, self.V_hM, self.k_M) - h) / self.tau_h
        return jnp.stack([dV, dn, dh])
