"""Sweep files and ``jaxrnn sweep``: grids over τ, Δ and any numeric setting as one program."""

from ._file import SweepError as SweepError
from ._file import SweepSpec as SweepSpec
from ._file import axis_values as axis_values
from ._file import load_sweep as load_sweep
from ._file import parse_sweep as parse_sweep
from ._run import plot_heatmap as plot_heatmap
from ._run import run_sweep as run_sweep
from ._studies import STUDIES as STUDIES
from ._studies import spectral_radius as spectral_radius
