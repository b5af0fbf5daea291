"""Training: YAML configs, Table-1 models, the Optax trainer and its run directory."""

from ._checkpoint import CheckpointError as CheckpointError
from ._config import Config as Config
from ._config import ConfigError as ConfigError
from ._config import EMConfig as EMConfig
from ._config import ForcingConfig as ForcingConfig
from ._config import ModelConfig as ModelConfig
from ._config import TaskConfig as TaskConfig
from ._config import TrainConfig as TrainConfig
from ._config_loading import apply_overrides as apply_overrides
from ._config_loading import config_from_dict as config_from_dict
from ._config_loading import config_to_dict as config_to_dict
from ._config_loading import load_config as load_config
from ._config_reference import config_keys as config_keys
from ._config_reference import config_reference as config_reference
from ._em_run import load_em_models as load_em_models
from ._hyper import Hyper as Hyper
from ._model_zoo import build_model as build_model
from ._model_zoo import predict as predict
from ._model_zoo import regulariser as regulariser
from ._optim import make_optimizer as make_optimizer
from ._population import POPULATION_KEYS as POPULATION_KEYS
from ._population import population_configs as population_configs
from ._reconstruction_objective import free_run as free_run
from ._reconstruction_objective import teacher_forced_loss as teacher_forced_loss
from ._run_dir import train as train
from ._run_dir import train_population as train_population
from ._run_lock import RunExists as RunExists
from ._run_lock import RunInUse as RunInUse
from ._run_read import evaluate_run as evaluate_run
from ._run_read import load_model as load_model
from ._state import TrainState as TrainState
from ._trainer import Trainer as Trainer
from ._trainer import TrainingDiverged as TrainingDiverged

__all__ = [
    "CheckpointError",
    "Config",
    "ConfigError",
    "EMConfig",
    "ForcingConfig",
    "ModelConfig",
    "TaskConfig",
    "TrainConfig",
    "apply_overrides",
    "config_from_dict",
    "config_to_dict",
    "load_config",
    "config_keys",
    "config_reference",
    "build_model",
    "predict",
    "regulariser",
    "make_optimizer",
    "POPULATION_KEYS",
    "population_configs",
    "free_run",
    "teacher_forced_loss",
    "RunExists",
    "RunInUse",
    "evaluate_run",
    "load_model",
    "train",
    "train_population",
    "load_em_models",
    "Hyper",
    "TrainState",
    "Trainer",
    "TrainingDiverged",
]
