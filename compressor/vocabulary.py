"""The names every package of the project spells the same way (compressor, the zoo, the harness, the CLI).

A framework name here is what ``detect_framework`` returns, what a backend table is keyed by, what the
zoo stores a model under and what a suite's ``frameworks:`` lists. A name may be listed before compressor
has a backend for it (the zoo can already train and export such models); ``compressor.frameworks()``
tells which ones have backends.
"""

from __future__ import annotations

# framework name -> what it is (shown in error messages and docs)
FRAMEWORKS: dict[str, str] = {
    "torch": "PyTorch (torch.nn.Module)",
    "onnxrt": "ONNX Runtime (onnx.ModelProto or a .onnx file)",
    "tensorflow": "TensorFlow / Keras",
    "mxnet": "MXNet Gluon",
}
FRAMEWORK_NAMES: tuple[str, ...] = tuple(FRAMEWORKS)
