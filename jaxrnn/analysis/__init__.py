"""Analysis of recurrent dynamics: fixed points, invariants, spectra."""

from ._classify import classify as classify
from ._classify import is_stable as is_stable
from ._classify import n_unstable as n_unstable
from ._fixed_points import FixedPoints as FixedPoints
from ._fixed_points import find_fixed_points as find_fixed_points
from ._invariants import energy as energy
from ._invariants import invariant_drift as invariant_drift
from ._spectra import dominant_frequency as dominant_frequency
from ._spectra import power_spectrum as power_spectrum
from ._spectra import spectrogram as spectrogram
