"""Models: CTRNN, PLRNN (and rPLRNN via ``n_regularised``), observation models, and the
PLRNN's batched evaluation: step by step or parallel in time (exact Newton/DEER)."""

from ._baselines import LSTM as LSTM
from ._baselines import ReLURNN as ReLURNN
from ._ctrnn import CTRNN as CTRNN
from ._observation import CategoricalObservation as CategoricalObservation
from ._observation import GaussianObservation as GaussianObservation
from .plrnn._parallel import ParallelRollout as ParallelRollout
from .plrnn._parallel import newton_iteration_bound as newton_iteration_bound
from .plrnn._parallel import parallel_plrnn_rollout as parallel_plrnn_rollout
from .plrnn._plrnn_map import PLRNN as PLRNN
from .plrnn._rollout import ROLLOUTS as ROLLOUTS
from .plrnn._rollout import plrnn_rollout as plrnn_rollout

__all__ = [
    "LSTM",
    "ReLURNN",
    "CTRNN",
    "CategoricalObservation",
    "GaussianObservation",
    "PLRNN",
    "ParallelRollout",
    "ROLLOUTS",
    "newton_iteration_bound",
    "parallel_plrnn_rollout",
    "plrnn_rollout",
]
