"""The model zoo the harness runs on: registered entries with offline data, recipes and caching.

Importing this package needs only numpy and compressor's framework-free names (``compressor.vocabulary``,
``compressor.errors``); frameworks are imported when a model is built.
"""

from models import catalog as _catalog  # noqa: F401  (registers the zoo's entries)
from models.cache import default_cache_dir
from models.entry import InputSpec, ModelEntry
from models.errors import (
    CacheError,
    DatasetUnavailableError,
    EntryDefinitionError,
    FrameworkUnavailableError,
    ModelsError,
    PretrainedUnavailableError,
    UnknownModelError,
)
from models.prepare import PrepareResult
from models.registry import get, list_entries, names, register_model, unregister_model

__all__ = [
    "CacheError",
    "DatasetUnavailableError",
    "EntryDefinitionError",
    "FrameworkUnavailableError",
    "InputSpec",
    "ModelEntry",
    "ModelsError",
    "PrepareResult",
    "PretrainedUnavailableError",
    "UnknownModelError",
    "default_cache_dir",
    "get",
    "list_entries",
    "names",
    "register_model",
    "unregister_model",
]
