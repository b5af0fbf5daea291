"""Expectation–maximisation for the PLRNN state-space model (Schmidt et al., Sect. 3.4,
Suppl. 7.1.3): the paper's own algorithm for dynamical-systems reconstruction.

- `PLRNNStateSpace`: the Gaussian latent PLRNN with observations x = B φ(z) + η.
- `posterior`, `hessian`, `moments`: the E-step (a Laplace posterior found by the
  sign-pattern iteration over block-tridiagonal solves, and the expectations of φ).
- `sufficient_statistics`, `m_step`: the closed-form M-step with the line-attractor
  penalty as a ridge.
- `fit_em`, `EMSettings`, `authors_init`: the annealing protocol, many fits as one
  vmapped program.
"""

from ._annealing import EMFit as EMFit
from ._annealing import fit_em as fit_em
from ._block_tridiagonal import BlockTridiagonal as BlockTridiagonal
from ._estep import Posterior as Posterior
from ._estep import hessian as hessian
from ._estep import posterior as posterior
from ._moments import Moments as Moments
from ._moments import moments as moments
from ._mstep import SufficientStatistics as SufficientStatistics
from ._mstep import m_step as m_step
from ._mstep import penalty as penalty
from ._mstep import sufficient_statistics as sufficient_statistics
from ._relu_moments import bivariate_normal_cdf as bivariate_normal_cdf
from ._relu_moments import relu_cross_authors as relu_cross_authors
from ._relu_moments import relu_cross_exact as relu_cross_exact
from ._relu_moments import relu_cross_z as relu_cross_z
from ._relu_moments import relu_mean as relu_mean
from ._relu_moments import relu_square as relu_square
from ._settings import STAGE_STARTS as STAGE_STARTS
from ._settings import EMSettings as EMSettings
from ._settings import authors_init as authors_init
from ._settings import regularised_units as regularised_units
from ._stage import StageResult as StageResult
from ._stage import run_stage as run_stage
from ._state_space import PLRNNStateSpace as PLRNNStateSpace

__all__ = [
    "EMFit",
    "EMSettings",
    "STAGE_STARTS",
    "StageResult",
    "authors_init",
    "fit_em",
    "regularised_units",
    "run_stage",
    "BlockTridiagonal",
    "Moments",
    "Posterior",
    "hessian",
    "moments",
    "posterior",
    "PLRNNStateSpace",
    "SufficientStatistics",
    "m_step",
    "penalty",
    "sufficient_statistics",
    "bivariate_normal_cdf",
    "relu_cross_authors",
    "relu_cross_exact",
    "relu_cross_z",
    "relu_mean",
    "relu_square",
]
