"""Models: CTRNN, PLRNN (and rPLRNN via ``n_regularised``), observation models."""

from ._baselines import LSTM as LSTM
from ._baselines import ReLURNN as ReLURNN
from ._ctrnn import CTRNN as CTRNN
from ._observation import CategoricalObservation as CategoricalObservation
from ._observation import GaussianObservation as GaussianObservation
from .plrnn._plrnn_map import PLRNN as PLRNN

__all__ = [
    "LSTM",
    "ReLURNN",
    "CTRNN",
    "CategoricalObservation",
    "GaussianObservation",
    "PLRNN",
]
