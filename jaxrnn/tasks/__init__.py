"""Benchmark tasks: the addition and multiplication problems."""

from ._addition import addition_problem as addition_problem
from ._addition import marker_positions as marker_positions
from ._addition import multiplication_problem as multiplication_problem
