"""Benchmark tasks: addition, multiplication, sequential (and permuted) MNIST."""

from ._addition import addition_problem as addition_problem
from ._addition import marker_positions as marker_positions
from ._addition import multiplication_problem as multiplication_problem
from ._mnist import DataError as DataError
from ._mnist import load_mnist as load_mnist
from ._mnist import read_idx as read_idx
from ._mnist import sequential_mnist as sequential_mnist
from ._task_data import TaskData as TaskData
from ._task_data import make_task as make_task

__all__ = [
    "addition_problem",
    "marker_positions",
    "multiplication_problem",
    "DataError",
    "load_mnist",
    "read_idx",
    "sequential_mnist",
    "TaskData",
    "make_task",
]
