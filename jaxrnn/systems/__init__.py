"""Ground-truth dynamical systems."""

from ..models.plrnn._examples import bistable_plrnn as bistable_plrnn
from ..models.plrnn._examples import chaotic_plrnn as chaotic_plrnn
from ._bursting import BURSTING_INITIAL_STATE as BURSTING_INITIAL_STATE
from ._bursting import BurstingNeuron as BurstingNeuron
from ._classic import Henon as Henon
from ._classic import Lorenz63 as Lorenz63
from ._classic import Rossler as Rossler
from ._classic import VanDerPol as VanDerPol
from ._datasets import DATASETS as DATASETS
from ._datasets import TimeSeriesData as TimeSeriesData
from ._datasets import dataset as dataset
from ._datasets import make_dataset as make_dataset
from ._recorded import RECORDED as RECORDED
from ._recorded import RecordedDataError as RecordedDataError
from ._recorded import load_csv_series as load_csv_series
from ._recorded import recorded_dataset as recorded_dataset

__all__ = [
    "bistable_plrnn",
    "chaotic_plrnn",
    "BURSTING_INITIAL_STATE",
    "BurstingNeuron",
    "Henon",
    "Lorenz63",
    "Rossler",
    "VanDerPol",
    "DATASETS",
    "TimeSeriesData",
    "dataset",
    "make_dataset",
    "RECORDED",
    "RecordedDataError",
    "load_csv_series",
    "recorded_dataset",
]
