"""One zoo entry: its definition (``models.definition``) plus the operations the harness calls on it.

The operations (build, prepare, export, predict) reach the framework adapters and the cache; they
live here, above ``models.prepare`` and ``models.frameworks``, which build on the definition alone.
Frameworks are still imported only when a model is built: adapters are loaded by name on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from models import cache
from models.definition import FRAMEWORKS, ONNX_OPSET, EntryDefinition, InputSpec, resolve
from models.errors import FrameworkUnavailableError
from models.evaluation import Inputs
from models.frameworks import adapter
from models.prepare import PrepareResult, paths_for
from models.prepare import prepare as prepare_entry

__all__ = ["FRAMEWORKS", "ONNX_OPSET", "InputSpec", "ModelEntry", "resolve"]


class ModelEntry(EntryDefinition):
    """A registered zoo entry (``models.get(name)``); construct it with the fields of ``EntryDefinition``."""

    def is_cached(self, framework: str = "torch", cache_dir: str | Path | None = None) -> bool:
        return paths_for(self, framework, cache.resolve_cache_dir(cache_dir)).exists()

    # --- models -----------------------------------------------------------------------------------

    def build(self, framework: str = "torch") -> Any:
        """An untrained native model (seeded with the recipe seed, so builds are repeatable)."""
        return adapter(self._check_framework(framework, native=True)).build(self)

    def prepare(
        self,
        framework: str = "torch",
        cache_dir: str | Path | None = None,
        force: bool = False,
        verify: bool = False,
    ) -> PrepareResult:
        """Trained model for ``framework``: loaded from the cache, or trained and cached."""
        return prepare_entry(self, self._check_framework(framework), cache_dir, force=force, verify=verify)

    def export_onnx(self, model: Any, path: str | Path, opset: int = ONNX_OPSET) -> Path:
        """Write ``model`` (torch) as ONNX: one graph, dynamic batch dim, inputs named as the signature."""
        from models.frameworks.onnxrt_fw import export

        return export(self, model, Path(path), opset=opset)

    def predict_fn(self, model: Any, framework: str = "torch") -> Callable[[Inputs], np.ndarray]:
        """numpy inputs → numpy logits for a native model (or an ONNX file path for ``onnxrt``)."""
        return adapter(self._check_framework(framework)).predict_fn(model)

    def _check_framework(self, framework: str, native: bool = False) -> str:
        allowed = tuple(fw for fw in self.frameworks if not (native and fw == "onnxrt"))
        if framework not in allowed:
            raise FrameworkUnavailableError(f"model {self.name!r} supports frameworks {allowed}, not {framework!r}")
        return framework
