"""The PLRNN family in one place (Schmidt et al.): the model and its initialisations, the
batched rollout with its hand-written reverse pass (or the exact parallel-in-time
Newton/DEER evaluation), the line-attractor penalty
(eq. 4), the region algebra ``W_Ω = A + W D_Ω`` that every PLRNN analysis builds on,
the discrete → continuous conversion (Suppl. 7.1.2) and two example systems."""

from ._continuous import ContinuousPLRNN as ContinuousPLRNN
from ._continuous import to_continuous as to_continuous
from ._examples import bistable_plrnn as bistable_plrnn
from ._examples import chaotic_plrnn as chaotic_plrnn
from ._parallel import ParallelRollout as ParallelRollout
from ._parallel import newton_iteration_bound as newton_iteration_bound
from ._parallel import parallel_plrnn_rollout as parallel_plrnn_rollout
from ._penalty import line_attractor_penalty as line_attractor_penalty
from ._plrnn_map import INITS as INITS
from ._plrnn_map import PLRNN as PLRNN
from ._plrnn_map import PLRNNInit as PLRNNInit
from ._regions import region_index as region_index
from ._regions import region_indicators as region_indicators
from ._regions import region_matrices as region_matrices
from ._regions import region_of as region_of
from ._rollout import ROLLOUTS as ROLLOUTS
from ._rollout import plrnn_rollout as plrnn_rollout
