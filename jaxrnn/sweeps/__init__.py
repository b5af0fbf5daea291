"""Sweep files and ``jaxrnn sweep``: grids over τ, Δ and any numeric setting as one program."""

from ._sweep_file import SweepError as SweepError
from ._sweep_file import SweepSpec as SweepSpec
from ._sweep_file import axis_values as axis_values
from ._sweep_file import load_sweep as load_sweep
from ._sweep_file import parse_sweep as parse_sweep
from ._sweep_overrides import with_overrides as with_overrides
from ._sweep_reference import sweep_keys as sweep_keys
from ._sweep_reference import sweep_reference as sweep_reference
from ._sweep_runner import plot_heatmap as plot_heatmap
from ._sweep_runner import run_sweep as run_sweep
from ._system_studies import STUDIES as STUDIES
from ._system_studies import spectral_radius as spectral_radius

__all__ = [
    "sweep_keys",
    "sweep_reference",
    "SweepError",
    "SweepSpec",
    "axis_values",
    "load_sweep",
    "parse_sweep",
    "with_overrides",
    "plot_heatmap",
    "run_sweep",
    "STUDIES",
    "spectral_radius",
]
