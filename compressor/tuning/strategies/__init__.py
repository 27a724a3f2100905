"""Built-in tuning strategies, one module each, registered by name (imported lazily by the registry).

See ``base.TuneStrategy`` for the interface custom strategies implement.
"""

from .base import SequentialStrategy, TuneStrategy

__all__ = ["SequentialStrategy", "TuneStrategy"]
