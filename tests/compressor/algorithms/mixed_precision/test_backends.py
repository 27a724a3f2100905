"""One backend-agnostic template, subclassed per framework: op space, conversion, measurement, files."""

from __future__ import annotations

import mixed_precision_models as mpm
import numpy as np
import pytest

from compressor.algorithms.mixed_precision import mixed_precision_backend
from compressor.algorithms.mixed_precision.algorithm import plan_from_dtypes
from compressor.errors import BackendError, ConfigError

OPS = ("fc1", "fc2", "fc3")


class BackendTemplate:
    framework = ""

    @pytest.fixture
    def backend(self):
        return mixed_precision_backend(self.framework)

    @pytest.fixture
    def model(self, mlp, tmp_path, backend):
        return backend.prepare(self.native(mlp, tmp_path))

    def native(self, module, tmp_path):
        raise NotImplementedError

    def names(self, backend, model) -> list[str]:
        return [op.name for op in backend.quantizable_ops(model)]

    def plan(self, backend, model, **dtypes):
        names = self.names(backend, model)
        return plan_from_dtypes({n: dtypes.get(self.short(n), "fp32") for n in names})

    def short(self, name: str) -> str:
        return name

    def predict(self, model, x):
        raise NotImplementedError

    def test_only_matmul_like_ops_are_in_the_space(self, backend, model):
        ops = backend.quantizable_ops(model)
        assert len(ops) == 3 and all(op.op_type in ("Linear", "Gemm", "MatMul") for op in ops)

    def test_fp32_plan_keeps_outputs_and_low_precision_stays_close(self, backend, model, data):
        x = data.x_test[:32]
        reference = self.predict(model, x)
        fp32 = backend.convert(model, self.plan(backend, model))
        np.testing.assert_allclose(self.predict(fp32, x), reference, rtol=1e-6, atol=1e-6)
        for precision, tol in (("bf16", 0.1), ("fp16", 0.02)):
            low = backend.convert(model, self.plan(backend, model, fc1=precision, fc2=precision, fc3=precision))
            out = self.predict(low, x)
            assert out.dtype == np.float32 and np.abs(out - reference).max() < tol
            assert (
                np.array_equal(out.argmax(1), reference.argmax(1))
                or (out.argmax(1) != reference.argmax(1)).mean() < 0.1
            )
        np.testing.assert_allclose(self.predict(model, x), reference)  # the input model is untouched

    def test_low_precision_model_is_smaller(self, backend, model):
        low = backend.convert(model, self.plan(backend, model, fc1="bf16", fc2="bf16", fc3="bf16"))
        assert backend.size_bytes(low) < 0.6 * backend.size_bytes(model)

    def test_op_outputs_show_where_fp16_overflows(self, backend, mlp, tmp_path, data):
        broken = backend.prepare(self.native(mpm.overflow(mlp), tmp_path))
        low = backend.convert(broken, self.plan(backend, broken, fc1="fp16", fc2="fp16", fc3="fp16"))
        names = self.names(backend, broken)
        outputs = backend.op_outputs(low, [(data.x_test[:8],)], names)
        assert not np.isfinite(outputs[names[0]]).all()
        reference = backend.op_outputs(broken, [(data.x_test[:8],)], names)
        assert np.isfinite(reference[names[0]]).all()

    def test_save_and_reload_give_the_same_outputs(self, backend, model, data, tmp_path):
        low = backend.convert(model, self.plan(backend, model, fc1="bf16", fc3="fp16"))
        path = tmp_path / f"model{self.suffix}"
        backend.save(low, str(path))
        again = backend.load(str(path), self.reload_base(model))
        x = data.x_test[:16]
        np.testing.assert_array_equal(self.predict(again, x), self.predict(low, x))

    def test_plan_naming_an_unknown_op_is_refused(self, backend, model):
        with pytest.raises(BackendError, match="nope"):
            backend.convert(model, plan_from_dtypes({"nope": "bf16"}))

    def test_latency_is_measured(self, backend, model, data):
        assert backend.latency_ms(model, (data.x_test[:4],), warmup=1, iterations=3) > 0

    def test_hardware_verdict_has_a_note(self, backend):
        verdict = backend.hardware("bf16")
        assert verdict.note.startswith(("native bf16", "emulated: no speedup expected"))


class TestTorchBackend(BackendTemplate):
    framework = "torch"
    suffix = ".pt"

    def native(self, module, tmp_path):
        return module

    def reload_base(self, model):
        return model

    def predict(self, model, x):
        import torch

        with torch.no_grad():
            return model(torch.from_numpy(x)).numpy()

    def test_converted_modules_hold_low_precision_weights(self, backend, model):
        import torch

        low = backend.convert(model, self.plan(backend, model, fc1="bf16", fc2="fp16"))
        assert low.fc1.module.weight.dtype == torch.bfloat16 and low.fc2.module.weight.dtype == torch.float16
        assert low.fc3.weight.dtype == torch.float32 and low.norm.weight.dtype == torch.float32
        assert backend.converted_ops(low) == {"fc1": "bf16", "fc2": "fp16"}

    def test_reload_needs_the_fp32_model(self, backend, model, tmp_path):
        path = tmp_path / "m.pt"
        backend.save(backend.convert(model, self.plan(backend, model, fc1="bf16")), str(path))
        with pytest.raises(BackendError, match="fp32 model"):
            backend.load(str(path))

    def test_fp16_export_runs_in_onnx_runtime(self, backend, model, data, tmp_path):
        ort = pytest.importorskip("onnxruntime")
        low = backend.convert(model, self.plan(backend, model, fc1="fp16", fc2="fp16", fc3="fp16"))
        path = tmp_path / "low.onnx"
        backend.export_onnx(low, str(path), (data.x_test[:4],))
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        out = session.run(None, {session.get_inputs()[0].name: data.x_test[:16]})[0]
        np.testing.assert_allclose(out, self.predict(low, data.x_test[:16]), atol=1e-2)


class TestOnnxRuntimeBackend(BackendTemplate):
    framework = "onnxrt"
    suffix = ".onnx"

    def native(self, module, tmp_path):
        pytest.importorskip("onnxruntime")
        import onnx

        return onnx.load(mpm.export_onnx(module, tmp_path / "fp32.onnx"))

    def reload_base(self, model):
        return None

    def short(self, name):
        return {0: "fc1", 1: "fc2", 2: "fc3"}[self._order.index(name)]

    def names(self, backend, model):
        names = super().names(backend, model)
        self._order = names
        return names

    def predict(self, model, x):
        from compressor.backends import onnx_basics

        return onnx_basics.predict(model, (x,))

    def test_ops_without_a_kernel_compute_fp32_and_are_listed(self, backend, model):
        from compressor.algorithms.mixed_precision import onnxrt_graph

        low = backend.convert(model, self.plan(backend, model, fc1="bf16", fc2="fp16", fc3="fp16"))
        names = self.names(backend, model)
        expected = [
            n
            for n, p in zip(names, ("bf16", "fp16", "fp16"), strict=True)
            if not onnxrt_graph.has_kernel(backend.quantizable_ops(model)[names.index(n)].op_type, p)
        ]
        assert backend.fp32_compute_ops(low) == expected
        verdict = backend.hardware("bf16", low)
        if expected:
            assert not verdict.native and "computed in fp32 between casts" in verdict.note

    def test_bf16_weights_round_to_nearest_even(self):
        from compressor.algorithms.mixed_precision.onnxrt_graph import low_precision_tensor

        values = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -2.5, 262016.0], np.float32)
        bits = np.frombuffer(low_precision_tensor(values, "w", "bf16").raw_data, np.uint16)
        back = (bits.astype(np.uint32) << 16).view(np.float32)
        np.testing.assert_array_equal(back, [1.0, 1.0, 1.0 + 4 * 2**-8, -2.5, 262144.0])  # ties to even


def test_unknown_framework_is_a_config_error():
    with pytest.raises(ConfigError, match="did you mean 'torch'"):
        mixed_precision_backend("trch")
