"""jaxrnn: differentiable recurrent-network dynamics in JAX.

Models (`CTRNN`, `PLRNN`), the operators of Caruso & Jarne (`rescale`, `discretise`,
`linearise`) and the PLRNN conversion `to_continuous`, one `simulate` for maps
and flows, and the line-attractor penalty of the rPLRNN.

**References.** Docstrings cite four papers by their authors, with section and equation
numbers:

- *Caruso & Jarne*: M. Caruso, C. Jarne, "About rescaling, discretisation and
  linearisation of RNN", arXiv:2312.15974 (later versions: "Analysing Rescaling,
  Discretisation, and Linearisation in RNNs for Neural System Modelling"): the three
  procedures on continuous-time RNNs, temporal rescaling R_τ, discretisation D_Δ and
  linearisation L, and when they commute.
- *Eisenmann et al.*: L. Eisenmann, A. Brändle, Z. Monfared, D. Durstewitz, "Detecting
  Invariant Manifolds in ReLU-Based RNNs", arXiv:2510.03814.
- *Casoni et al.*: M. Casoni, T. Guidi, A. Betti, S. Melacci, M. Gori, "Generative System
  Dynamics in Recurrent Neural Networks" (skew-symmetric networks and their invariants).
- *Schmidt et al.*: D. Schmidt, G. Koppe, Z. Monfared, M. Beutelspacher, D. Durstewitz,
  "Inferring dynamical systems with long-range dependencies through line attractor
  regularization" (the ICLR 2020 submission whose section and equation numbers are
  cited; published at ICLR 2021 as "Identifying nonlinear dynamical systems with
  multiple time scales and long-range dependencies"): the PLRNN and rPLRNN, the
  addition, multiplication and sequential-MNIST benchmarks, and dynamical-systems
  reconstruction.
"""

from . import analysis as analysis
from . import em as em
from . import metrics as metrics
from . import systems as systems
from . import tasks as tasks
from ._activations import AbstractActivation as AbstractActivation
from ._activations import Affine as Affine
from ._activations import HardTanh as HardTanh
from ._activations import Identity as Identity
from ._activations import ReLU as ReLU
from ._activations import Sigmoid as Sigmoid
from ._activations import Tanh as Tanh
from ._activations_user import CustomActivation as CustomActivation
from ._activations_user import get_activation as get_activation
from ._distributed import DistributedError as DistributedError
from ._distributed import initialize_distributed as initialize_distributed
from ._grid_sweep import SweepResult as SweepResult
from ._grid_sweep import grid_points as grid_points
from ._grid_sweep import sweep as sweep
from ._operators import Discretised as Discretised
from ._operators import Rescaled as Rescaled
from ._operators import discretise as discretise
from ._operators import linearise as linearise
from ._operators import rescale as rescale
from ._simulate import DEFAULT_DIVERGENCE_THRESHOLD as DEFAULT_DIVERGENCE_THRESHOLD
from ._simulate import Trajectory as Trajectory
from ._simulate import simulate as simulate
from ._solvers import RK4 as RK4
from ._system_kinds import AbstractContinuousSystem as AbstractContinuousSystem
from ._system_kinds import AbstractDiscreteSystem as AbstractDiscreteSystem
from ._system_kinds import AbstractSystem as AbstractSystem
from ._system_kinds import AffineMap as AffineMap
from ._system_kinds import LinearFlow as LinearFlow
from ._validate import X64Required as X64Required
from .models import CTRNN as CTRNN
from .models import PLRNN as PLRNN
from .models import CategoricalObservation as CategoricalObservation
from .models import GaussianObservation as GaussianObservation
from .models.plrnn._continuous import ContinuousPLRNN as ContinuousPLRNN
from .models.plrnn._continuous import to_continuous as to_continuous
from .models.plrnn._penalty import line_attractor_penalty as line_attractor_penalty

__all__ = [
    "analysis",
    "em",
    "metrics",
    "systems",
    "tasks",
    "AbstractActivation",
    "Affine",
    "HardTanh",
    "Identity",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "CustomActivation",
    "get_activation",
    "SweepResult",
    "grid_points",
    "sweep",
    "DistributedError",
    "initialize_distributed",
    "Discretised",
    "Rescaled",
    "discretise",
    "linearise",
    "rescale",
    "DEFAULT_DIVERGENCE_THRESHOLD",
    "Trajectory",
    "simulate",
    "RK4",
    "AbstractContinuousSystem",
    "AbstractDiscreteSystem",
    "AbstractSystem",
    "AffineMap",
    "LinearFlow",
    "X64Required",
    "CTRNN",
    "PLRNN",
    "CategoricalObservation",
    "GaussianObservation",
    "ContinuousPLRNN",
    "to_continuous",
    "line_attractor_penalty",
]

__version__ = "0.1.0"
