"""The quantized models the backend returns: callables like the user's model, plus what made them.

``StaticInt8Model`` keeps the converted, un-compiled pt2e graph (``graph_module``: reference
quantize/dequantize ops; what save, ONNX export and op_outputs use) next to the compiled callable that
its forward runs. Only the compiled form runs oneDNN int8 kernels, and only when compiled with
``freezing`` (weights become constants that inductor can pre-pack). This module imports only torch,
so isinstance checks never pull in torchao.
"""

from __future__ import annotations

import copy

import torch
import torch._inductor.config as inductor_config

from ....errors import BackendError
from ....quiet import quiet_frameworks
from ..algorithm import Plan


class StaticInt8Model(torch.nn.Module):
    """A pt2e int8 graph and its compiled form; call it like the original model."""

    def __init__(
        self,
        graph_module: torch.fx.GraphModule,
        example_args: tuple[torch.Tensor, ...],
        compile: bool = True,
        arg_names: tuple[str, ...] | None = None,
    ):
        super().__init__()
        self.graph_module = graph_module
        self.example_args = example_args
        # The fp32 forward's parameter names: keyword calls (model(input_ids=..., ...)) are put back in order.
        self.arg_names = arg_names
        # Kept out of the module tree so that state_dict and save see each weight once.
        # dynamic=False: with symbolic batch sizes inductor 2.13 mis-predicted the strides of qconv
        # outputs (an assert_size_stride failure at batch 64); a static graph per batch size is correct
        # and costs one compile (0.5-2 s) for each new size, up to dynamo's recompile limit (8), after
        # which dynamo runs the reference graph (correct, slow) and logs it.
        self.__dict__["compiled"] = torch.compile(graph_module, dynamic=False) if compile else None
        self.__dict__["compiled_shapes"] = set()  # input shapes compiled so far (see forward)

    def __deepcopy__(self, memo):
        # The compiled callable holds dynamo state that cannot be copied; a copy compiles afresh.
        graph = copy.deepcopy(self.graph_module, memo)
        return StaticInt8Model(
            graph, self.example_args, compile=self.__dict__["compiled"] is not None, arg_names=self.arg_names
        )

    def train(self, mode: bool = True) -> StaticInt8Model:
        # An inference-only int8 graph: eval_funcs call model.eval(), which exported graphs refuse.
        # Switching modes changes nothing here, so it is accepted and ignored; training is refused.
        if mode:
            raise RuntimeError("a static int8 model is inference-only; train the fp32 model (or use QAT)")
        self.training = False
        return self

    def _positional(self, args: tuple, kwargs: dict) -> tuple:
        if not kwargs:
            return args
        names = self.arg_names or ()
        unknown = sorted(set(kwargs) - set(names))
        if unknown:
            raise TypeError(f"int8 model: unexpected keyword arguments {unknown}; the forward takes {list(names)}")
        rest = [kwargs[n] for n in names[len(args) :] if n in kwargs]
        if len(args) + len(rest) != len(self.example_args):
            raise TypeError(f"int8 model: takes inputs {list(names[: len(self.example_args)])} (positional or keyword)")
        return (*args, *rest)

    def forward(self, *args: torch.Tensor, **kwargs: torch.Tensor):
        args = self._positional(args, kwargs)
        compiled = self.__dict__["compiled"]
        if compiled is None:
            return self.graph_module(*args)
        # Freezing must be on when dynamo compiles (lazily, at the first call of each shape); setting it
        # around the call rather than globally leaves the user's own torch.compile calls unaffected.
        # A plain set/restore: ``inductor_config.patch`` cost 40 us a call here (b1 forward: 180 us).
        previous = inductor_config.freezing
        inductor_config.freezing = True
        try:
            with torch.no_grad():
                shapes = tuple((tuple(a.shape), a.dtype) if isinstance(a, torch.Tensor) else None for a in args)
                seen = self.__dict__["compiled_shapes"]
                if shapes in seen:
                    return compiled(*args)
                # a new shape compiles: inductor's lowering warnings are its own business, not the caller's
                with quiet_frameworks():
                    try:
                        out = compiled(*args)
                    except torch._dynamo.exc.BackendCompilerFailed as exc:
                        # e.g. torchao's x86 qlinear post-op fusion asserting on a Linear whose ReLU output
                        # feeds an Add: this plan cannot run compiled here; the tuner records a failed trial
                        cause = getattr(exc, "inner_exception", None) or exc
                        lines = str(cause).strip().splitlines()
                        what = f"{type(cause).__name__}: {lines[0]}" if lines else type(cause).__name__
                        raise BackendError(
                            f"torch backend: inductor could not compile this int8 graph ({what}); "
                            "this plan does not run on this torch/torchao version"
                        ) from exc
                seen.add(shapes)
                return out
        finally:
            inductor_config.freezing = previous


class DynamicInt8Model(torch.nn.Module):
    """An eagerly quantized copy of the user's model (same module names) and how it was made."""

    def __init__(self, module: torch.nn.Module, plan: Plan, smooth_scales: dict[str, torch.Tensor]):
        super().__init__()
        self.module = module
        self.plan = plan
        # SmoothQuant scales applied by forward pre-hooks; kept so that save() can write them.
        self.smooth_scales = smooth_scales

    def forward(self, *args):
        return self.module(*args)
