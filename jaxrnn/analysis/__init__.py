"""Analysis of recurrent dynamics: fixed points, invariants, spectra."""

from ._classify import classify as classify
from ._classify import is_stable as is_stable
from ._classify import n_unstable as n_unstable
from ._invariants import energy as energy
from ._invariants import invariant_drift as invariant_drift
from ._lyapunov import kaplan_yorke_dimension as kaplan_yorke_dimension
from ._lyapunov import lyapunov_spectrum as lyapunov_spectrum
from ._plrnn_basins import DIVERGENT as DIVERGENT
from ._plrnn_basins import UNMATCHED as UNMATCHED
from ._plrnn_basins import Basins as Basins
from ._plrnn_basins import basins as basins
from ._plrnn_cycle_results import PLRNNCycles as PLRNNCycles
from ._plrnn_cycles import cycles as cycles
from ._plrnn_cycles import fixed_points as fixed_points
from ._plrnn_cycles import trajectory_seeds as trajectory_seeds
from ._plrnn_homoclinic import homoclinic_points as homoclinic_points
from ._plrnn_manifolds import Manifold as Manifold
from ._plrnn_manifolds import check_invertible as check_invertible
from ._plrnn_manifolds import stable_manifold as stable_manifold
from ._plrnn_manifolds import unstable_manifold as unstable_manifold
from ._smooth_fixed_points import FixedPoints as FixedPoints
from ._smooth_fixed_points import find_fixed_points as find_fixed_points
from ._spectra import dominant_frequency as dominant_frequency
from ._spectra import power_spectrum as power_spectrum
from ._spectra import spectrogram as spectrogram

__all__ = [
    "classify",
    "is_stable",
    "n_unstable",
    "energy",
    "invariant_drift",
    "kaplan_yorke_dimension",
    "lyapunov_spectrum",
    "DIVERGENT",
    "UNMATCHED",
    "Basins",
    "basins",
    "PLRNNCycles",
    "cycles",
    "fixed_points",
    "trajectory_seeds",
    "homoclinic_points",
    "Manifold",
    "check_invertible",
    "stable_manifold",
    "unstable_manifold",
    "FixedPoints",
    "find_fixed_points",
    "dominant_frequency",
    "power_spectrum",
    "spectrogram",
]
