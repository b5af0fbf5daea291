"""Figures (matplotlib)."""

from ._state_space_figures import state_space as state_space
from ._state_space_figures import trajectory_3d as trajectory_3d

__all__ = [
    "state_space",
    "trajectory_3d",
]
