"""Models: CTRNN, PLRNN (and rPLRNN via ``n_regularised``), observation models."""

from ._ctrnn import CTRNN as CTRNN
from ._observation import CategoricalObservation as CategoricalObservation
from ._observation import GaussianObservation as GaussianObservation
from ._plrnn import PLRNN as PLRNN
from ._baselines import LSTM as LSTM
from ._baselines import ReLURNN as ReLURNN
