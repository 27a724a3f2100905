"""Helpers of the ONNX Runtime PTQ backend (``..onnxrt_backend``), one concept per module.

``deps`` imports onnx/onnxruntime, ``graph`` names and inspects nodes, ``calibration`` feeds batches and
caches activation ranges, ``plan_options`` turns a ``Plan`` into ORT's quantizer arguments,
``smooth_quant`` migrates activation outliers into weights, ``probes`` reads op outputs back from fp32
and quantized models, ``session`` builds sessions and times them. Nothing here is imported by
``import compressor``.
"""
