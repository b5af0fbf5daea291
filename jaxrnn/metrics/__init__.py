"""Dynamical-systems reconstruction metrics (computed on FREE runs of a model)."""

from ._fig3 import amplitude_spectrum as amplitude_spectrum
from ._fig3 import diverged as diverged
from ._fig3 import fig3_table as fig3_table
from ._fig3 import isoutlier as isoutlier
from ._fig3 import spectrum_errors as spectrum_errors
from ._prediction import prediction_error as prediction_error
from ._spectral import hellinger_distance as hellinger_distance
from ._spectral import normalised_spectrum as normalised_spectrum
from ._spectral import spectrum_correlation as spectrum_correlation
from ._spectral import spectrum_error_split as spectrum_error_split
from ._state_space_metrics import state_space_divergence as state_space_divergence

__all__ = [
    "amplitude_spectrum",
    "diverged",
    "fig3_table",
    "isoutlier",
    "spectrum_errors",
    "prediction_error",
    "hellinger_distance",
    "normalised_spectrum",
    "spectrum_correlation",
    "spectrum_error_split",
    "state_space_divergence",
]
