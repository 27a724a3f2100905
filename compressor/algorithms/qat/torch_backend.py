"""QAT for ``torch.nn.Module``: fake quantization in place during training, real int8 at the end.

``on_train_begin`` adds fake quantization to the planned ops of the user's model *in place* (see
``torch_fake_quant``) and starts keeping the model's most recent forward inputs. ``on_train_end``
removes it again (the trained fp32 weights stay in the user's model) and converts a copy through the
PTQ backend's static path — pt2e, ``X86InductorQuantizer``, ``torch.compile`` with freezing, the same
oneDNN int8 kernels, ONNX export and save/reload as ``quantization.fit`` — calibrated on those recent
training inputs. The result is a ``QuantizedModel``; the manager exposes its native model.
"""

from __future__ import annotations

import collections
import inspect
import logging
from typing import Any

from ...errors import BackendError
from ..component import TrainingComponent
from ..ptq.algorithm import Plan
from .algorithm import qat_plan

log = logging.getLogger(__name__)

CALIBRATION_BATCHES = 8


class TorchQAT(TrainingComponent):
    name = "qat"
    end_order = 2  # converts last: pruning and distillation finish on the fp32 model first

    def __init__(self, config: Any, calibration_batches: int = CALIBRATION_BATCHES) -> None:
        from ..ptq.torch_backend import TorchPTQBackend

        self.config = config
        self.backend = TorchPTQBackend()
        self.plan: Plan | None = None
        self.quantized = None  # QuantizedModel after on_train_end
        self._recent: collections.deque = collections.deque(maxlen=calibration_batches)
        self._capture = None

    def validate(self, model: Any) -> None:
        ops = self.backend.quantizable_ops(model)
        options = {op.name: self.backend.op_options(op, "static") for op in ops}
        self.plan = qat_plan(ops, options, self.config)

    def on_train_begin(self, model: Any) -> None:
        from .torch_fake_quant import add_fake_quant

        if self.plan is None:
            self.validate(model)
        for name in self.plan.quantized_ops:
            choice = self.plan.ops[name]
            add_fake_quant(model.get_submodule(name), per_channel=choice.weight_granularity == "per_channel")
        self._arg_names = tuple(inspect.signature(model.forward).parameters)
        self._capture = model.register_forward_pre_hook(self._keep_inputs, with_kwargs=True)
        log.info("QAT: fake quantization on %d ops, fp32: %s", len(self.plan.quantized_ops), self.plan.fallback_ops)

    def _keep_inputs(self, module: Any, args: tuple, kwargs: dict) -> None:
        """Keeps the call's inputs as the positional tuple the int8 conversion calibrates with
        (keyword inputs, e.g. ``input_ids=``, are put in the forward's parameter order)."""
        import torch

        rest = [kwargs[name] for name in self._arg_names[len(args) :] if name in kwargs]
        inputs = (*args, *rest)
        if inputs and all(isinstance(a, torch.Tensor) for a in inputs):
            self._recent.append(tuple(a.detach().cpu().numpy().copy() for a in inputs))

    def on_train_end(self, model: Any) -> Any:
        from ...quantized_model import QuantizedModel
        from .torch_fake_quant import strip_fake_quant

        if self._capture is not None:
            self._capture.remove()
            self._capture = None
        strip_fake_quant(model)  # the user's model keeps its trained fp32 weights
        if not self._recent:
            raise BackendError(
                "QAT: the model was never called between on_train_begin and on_train_end, so there are no "
                "inputs to calibrate the int8 model with; run the training loop between the two hooks"
            )
        int8 = self.backend.quantize(model, self.plan, list(self._recent))  # converts a copy, in eval mode
        self.quantized = QuantizedModel(self.backend, int8, self.plan)
        return int8

    def summary(self) -> dict[str, Any]:
        plan = self.plan
        return {
            "technique": "qat",
            "quantized_ops": list(plan.quantized_ops) if plan else [],
            "fallback_ops": list(plan.fallback_ops) if plan else [],
            "calibration_batches": len(self._recent),
            "converted": self.quantized is not None,
        }
