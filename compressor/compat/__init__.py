"""1.x compatibility: read ``conf.yaml`` files into 2.x configs and print the equivalent 2.x code."""

from .codegen import generate as migrate_code
from .frameworks import FrameworkInfo, framework_info
from .mapping import LoadedConf, ModelInfo, TrainSettings, load_yaml

__all__ = [
    "FrameworkInfo",
    "LoadedConf",
    "ModelInfo",
    "TrainSettings",
    "framework_info",
    "load_yaml",
    "migrate_code",
]
