"""The comparison models of the rPLRNN paper (Schmidt et al., Table 1) as discrete systems.

- `ReLURNN`: ``h_t = relu(W h_{t-1} + U s_t + b)`` with a linear read-out;
  ``init="random"`` (RNN, L2RNN), ``"identity"`` (iRNN: W₀ = I, b₀ = 0, Le et al.
  2015) or ``"np"`` (npRNN: W₀ = (RᵀR/M + I)/λ_max, R ~ N(0, 1), b₀ = 0,
  Talathi & Vartak 2016).
- `LSTM`: the standard LSTM cell (forget-gate bias 1) with a linear read-out of
  h. Its state vector is ``[h, c]`` (size 2H).

Input scales, chosen so that no model starts saturated or exploding on a
benchmark trial of length T = 500 (inputs in [0, 1), tested): the iRNN and
npRNN start with a recurrence of spectral radius exactly 1, so whatever the
inputs put in stays and adds up over T steps; with PyTorch's default input
weights U(±1/√M) the state of an addition trial reaches ~40 by T = 500. They
take ``U ~ N(0, INPUT_STD²)``, ``INPUT_STD = 0.001``, Le et al.'s (2015) choice
for the iRNN (the state then stays below 1). The RNN/L2RNN (spectral radius
≈ 0.58 under PyTorch's default, contracting) and the LSTM (bounded gates,
forget bias 1) keep PyTorch's defaults ``U(±1/√fan)``, the authors' framework.

``convention="authors"`` initialises them instead as the rPLRNN authors' code did
(``benchmark_run/gdplrnn/comparison_models.py``: PyTorch's ``nn.RNN``/``nn.LSTM`` and an
``nn.Linear`` read-out, with their overrides), for comparisons with the published Fig. 2:

- every model: the read-out bias ``c ~ U(±1/√M)`` (jaxrnn: 0);
- RNN, L2RNN: the bias is PyTorch's two biases ``b_ih + b_hh``, a sum of two
  ``U(±1/√M)`` draws (variance 2/(3M); jaxrnn: one draw). The two move together under
  training, as one bias with twice the step of Adam; that difference remains;
- iRNN: ``U ~ N(0, 1)/M``;
- npRNN: ``U ~ α N(0, 1)/M`` with ``α = √2 exp(1.2/max(M, 6) − 2.4)``, and the read-out
  weights ``V ~ N(0, (2/(M + N))²)``;
- LSTM: every gate's bias a sum of two ``U(±1/√H)`` draws, the forget gate's 1.

Like the PLRNN, each has ``step(y, x)`` and ``observe(y)``, so simulation,
training and analysis treat all models alike.
"""

from __future__ import annotations

import math
import typing
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from .._system_kinds import AbstractDiscreteSystem
from .._validate import check_size

__all__ = ["ReLURNN", "LSTM", "INPUT_STD", "BaselineConvention", "CONVENTIONS"]

INPUT_STD = 0.001  # input weights of the iRNN and npRNN (Le et al. 2015)
BaselineConvention = Literal["jaxrnn", "authors"]
CONVENTIONS: tuple[str, ...] = typing.get_args(BaselineConvention)


def _uniform(key, shape, bound, dtype):
    return jax.random.uniform(key, shape, dtype, -bound, bound)


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


class ReLURNN(AbstractDiscreteSystem):
    """Vanilla ReLU RNN ``h_t = relu(W h_{t-1} + U s_t + b)``, read-out ``V h + c``
    (the RNN, L2RNN, iRNN and npRNN of Schmidt et al., Table 1).

    **Arguments:**

    - `hidden_size`: M, the number of units.
    - `input_size`: K, the input channels.
    - `output_size`: N, the read-out size (0: none).
    - `init`: ``"random"`` (PyTorch's default ``U(±1/√M)``), ``"identity"``
      (iRNN: W₀ = I, b₀ = 0, U ~ N(0, 0.001²)) or ``"np"`` (npRNN: W₀ =
      (RᵀR/M + I)/λ_max, U ~ N(0, 0.001²)); see the module docstring for why.
    - `convention`: ``"jaxrnn"`` (the above) or ``"authors"`` (the rPLRNN authors' code;
      see the module docstring).
    - `dtype`: the parameters' dtype (default: JAX's default float).
    - `key`: the PRNG key of the initial parameters.
    """

    W: Float[Array, "M M"]
    U: Float[Array, "M K"]
    b: Float[Array, " M"]
    V: Float[Array, "N M"]
    c: Float[Array, " N"]

    def __init__(
        self,
        hidden_size: int,
        input_size: int,
        output_size: int,
        *,
        init: Literal["random", "identity", "np"] = "random",
        convention: BaselineConvention = "jaxrnn",
        dtype=None,
        key: PRNGKeyArray,
    ):
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        _check_convention(convention)
        M = check_size("ReLURNN", "hidden_size", hidden_size, 1)
        input_size = check_size("ReLURNN", "input_size", input_size, 0)
        output_size = check_size("ReLURNN", "output_size", output_size, 0)
        kw, ku, kb, kv = jax.random.split(key, 4)
        bound = 1.0 / math.sqrt(M)
        if init == "random":  # PyTorch nn.RNN's default
            self.W = _uniform(kw, (M, M), bound, dtype)
            self.b = _uniform(kb, (M,), bound, dtype)
        elif init == "identity":
            self.W = jnp.eye(M, dtype=dtype)
            self.b = jnp.zeros((M,), dtype)
        elif init == "np":
            R = np.asarray(jax.random.normal(kw, (M, M)), dtype=np.float64)
            P = R.T @ R / M + np.eye(M)
            self.W = jnp.asarray(P / np.linalg.eigvalsh(P).max(), dtype)
            self.b = jnp.zeros((M,), dtype)
        else:
            raise ValueError(f"init must be 'random', 'identity' or 'np', got {init!r}")
        if init == "random":
            self.U = _uniform(ku, (M, input_size), bound, dtype)
        else:  # identity-like recurrence: inputs accumulate over T steps
            self.U = INPUT_STD * jax.random.normal(ku, (M, input_size), dtype)
        self.V = _uniform(kv, (output_size, M), bound, dtype)
        self.c = jnp.zeros((output_size,), dtype)
        if convention == "authors":  # the same draws as above, then the authors' changes
            kb2, ku2, kv2, kc = jax.random.split(jax.random.fold_in(key, 1), 4)
            self.c = _uniform(kc, (output_size,), bound, dtype)  # nn.Linear's bias
            if init == "random":  # nn.RNN's b_ih + b_hh
                self.b = self.b + _uniform(kb2, (M,), bound, dtype)
            elif init == "identity":
                self.U = jax.random.normal(ku2, (M, input_size), dtype) / M
            else:
                alpha = math.sqrt(2.0) * math.exp(1.2 / max(M, 6) - 2.4)
                self.U = alpha * jax.random.normal(ku2, (M, input_size), dtype) / M
                std = 2.0 / (M + output_size)
                self.V = std * jax.random.normal(kv2, (output_size, M), dtype)

    @property
    def state_size(self):
        return self.W.shape[0]

    @property
    def input_size(self):
        return self.U.shape[1]

    def step(self, h, x, key=None):
        return jax.nn.relu(self.W @ h + self.U @ x + self.b)

    def observe(self, h):
        return self.V @ h + self.c


class LSTM(AbstractDiscreteSystem):
    """LSTM cell with gates i, f, g, o; forget-gate bias initialised to 1; read-out ``V h + c``
    (the LSTM of Schmidt et al., Table 1). The state is ``[h, c]`` (size 2H).

    **Arguments:**

    - `hidden_size`: H, the size of h and of the cell state c.
    - `input_size`: K, the input channels.
    - `output_size`: N, the read-out size (0: none).
    - `convention`: ``"jaxrnn"`` or ``"authors"`` (the rPLRNN authors' code: two summed
      biases, a random read-out bias; see the module docstring).
    - `dtype`: the parameters' dtype (default: JAX's default float).
    - `key`: the PRNG key of the initial parameters (all ``U(±1/√H)``, PyTorch's
      default, then the forget-gate bias set to 1).
    """

    W_x: Float[Array, "4H K"]
    W_h: Float[Array, "4H H"]
    bias: Float[Array, " 4H"]
    V: Float[Array, "N H"]
    c: Float[Array, " N"]

    def __init__(
        self,
        hidden_size: int,
        input_size: int,
        output_size: int,
        *,
        convention: BaselineConvention = "jaxrnn",
        dtype=None,
        key: PRNGKeyArray,
    ):
        dtype = jnp.zeros(()).dtype if dtype is None else dtype
        _check_convention(convention)
        H = check_size("LSTM", "hidden_size", hidden_size, 1)
        input_size = check_size("LSTM", "input_size", input_size, 0)
        output_size = check_size("LSTM", "output_size", output_size, 0)
        kx, kh, kb, kv = jax.random.split(key, 4)
        bound = 1.0 / math.sqrt(H)
        self.W_x = _uniform(kx, (4 * H, input_size), bound, dtype)
        self.W_h = _uniform(kh, (4 * H, H), bound, dtype)
        bias = _uniform(kb, (4 * H,), bound, dtype)
        self.V = _uniform(kv, (output_size, H), bound, dtype)
        self.c = jnp.zeros((output_size,), dtype)
        if convention == "authors":  # nn.LSTM's b_ih + b_hh, each forget slice 1/2
            kb2, kc = jax.random.split(jax.random.fold_in(key, 1))
            bias = bias + _uniform(kb2, (4 * H,), bound, dtype)
            self.c = _uniform(kc, (output_size,), bound, dtype)
        self.bias = bias.at[H : 2 * H].set(1.0)

    @property
    def hidden_size(self):
        return self.W_h.shape[1]

    @property
    def state_size(self):
        return 2 * self.hidden_size

    @property
    def input_size(self):
        return self.W_x.shape[1]

    def step(self, y, x, key=None):
        H = self.hidden_size
        h, c = y[:H], y[H:]
        gates = self.W_x @ x + self.W_h @ h + self.bias
        i, f, g, o = jnp.split(gates, 4)
        c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
        h = jax.nn.sigmoid(o) * jnp.tanh(c)
        return jnp.concatenate([h, c])

    def observe(self, y):
        return self.V @ y[: self.hidden_size] + self.c
