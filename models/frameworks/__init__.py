"""Per-framework adapters: build, train, save, load and predict for one framework each.

Adapters are modules imported on first use, so a missing framework only matters when asked for.
Each exposes: NAME, SUFFIX, versions(), build(entry), train(entry, model), save(entry, model, path),
load(entry, path), predict_fn(model); torch also derive(entry, parent_model), which makes a variant entry
(``entry.parent``) from its parent's trained model.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
from types import ModuleType

from models.errors import FrameworkUnavailableError

# framework → (adapter module, modules it needs, install command)
_ADAPTERS = {
    "torch": ("models.frameworks.torch_fw", ("torch",), "pip install torch==2.13.0"),
    "onnxrt": ("models.frameworks.onnxrt_fw", ("torch", "onnx", "onnxruntime"), "pip install onnx onnxruntime"),
    "tensorflow": ("models.frameworks.tensorflow_fw", ("tensorflow", "keras"), "pip install tensorflow-cpu==2.21.0"),
    "mxnet": ("models.frameworks.mxnet_fw", ("mxnet",), "pip install mxnet==1.9.1 numpy==1.23.5"),
}

# File suffix of cached weights per framework, known without importing the framework.
SUFFIXES = {"torch": ".pt", "onnxrt": ".onnx", "tensorflow": ".weights.h5", "mxnet": ".params"}


def adapter(framework: str) -> ModuleType:
    try:
        module_name, needs, install = _ADAPTERS[framework]
    except KeyError:
        raise FrameworkUnavailableError(f"unknown framework {framework!r}; known: {', '.join(_ADAPTERS)}") from None
    missing = [name for name in needs if importlib.util.find_spec(name) is None]
    if missing:
        raise FrameworkUnavailableError(
            f"framework {framework!r} needs {', '.join(missing)}, which is not installed; run `{install}`"
        )
    try:
        return importlib.import_module(module_name)
    except (ImportError, AttributeError, OSError) as exc:
        # MXNet 1.9 on numpy >= 1.24 fails with AttributeError (np.bool), not ImportError.
        raise FrameworkUnavailableError(
            f"framework {framework!r} is installed but does not import ({type(exc).__name__}: {exc}); "
            f"a compatible set is `{install}`"
        ) from exc


def train_threads() -> int:
    """Threads for training: ``$COMPRESSOR_TRAIN_THREADS`` or the cores this process may use."""
    if os.environ.get("COMPRESSOR_TRAIN_THREADS"):
        return max(1, int(os.environ["COMPRESSOR_TRAIN_THREADS"]))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
