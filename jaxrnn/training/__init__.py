"""Training: YAML configs, Table-1 models, the Optax trainer and its run directory."""

from ._config import Config as Config
from ._config import ConfigError as ConfigError
from ._config import ModelConfig as ModelConfig
from ._config import TaskConfig as TaskConfig
from ._config import TrainConfig as TrainConfig
from ._config import apply_overrides as apply_overrides
from ._config import config_from_dict as config_from_dict
from ._config import config_to_dict as config_to_dict
from ._config import load_config as load_config
from ._models import build_model as build_model
from ._models import predict as predict
from ._models import regulariser as regulariser
from ._trainer import RunExists as RunExists
from ._trainer import Trainer as Trainer
from ._trainer import TrainingDiverged as TrainingDiverged
from ._trainer import evaluate_run as evaluate_run
from ._trainer import make_optimizer as make_optimizer
from ._trainer import train as train
