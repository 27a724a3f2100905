"""QAT vs PTQ on a zoo model: does quantization-aware training recover what post-training int8 loses?

    python benchmarks/qat_recovery.py --model resnet8_fashion --granularity per_tensor

Both use the same int8 scheme (``--granularity`` of the weights; uint8 activations) and the same
conversion path (pt2e + oneDNN kernels). PTQ calibrates on 512 calibration examples; QAT fine-tunes the
trained fp32 model with fake quantization through ``prepare_compression`` (seed 001's loop) for
``--epochs`` over ``--train-samples`` training examples, then converts. Prints accuracies and losses.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time

import numpy as np


def _rule(granularity: str) -> dict:
    return {"Conv2d|Linear": {"weight": {"granularity": [granularity]}}}


def ptq(entry, model, granularity: str) -> float:
    """Full static int8 with ``granularity`` weights, one fixed plan (no tuning)."""
    from compressor import quantization
    from compressor.config import PostTrainingQuantConfig
    from models.evaluation import num_examples, take

    x, _ = entry.load_data("calib")
    n = min(num_examples(x), 512)
    calibration = [_inputs(entry, take(x, slice(i, i + 32))) for i in range(0, n, 32)]
    conf = PostTrainingQuantConfig(
        performance_only=True, op_type_dict=_rule(granularity), calibration_sampling_size=[n]
    )
    with tempfile.TemporaryDirectory() as workspace:
        q = quantization.fit(model, conf, calib_dataloader=calibration, workspace=workspace)
    return entry.evaluate(entry.predict_fn(q.model))


def _inputs(entry, x) -> tuple:
    return tuple(x[spec.name] for spec in entry.input_signature) if isinstance(x, dict) else (x,)


def qat(entry, model, args, quantize: bool = True) -> tuple[float, float]:
    """Fine-tunes a copy of ``model``; with fake quantization and int8 conversion when ``quantize``
    (otherwise the same loop in fp32: the control that separates QAT from plain fine-tuning)."""
    import torch

    from compressor.config import QuantizationAwareTrainingConfig
    from compressor.training import prepare_compression

    torch.manual_seed(args.seed)
    model = copy.deepcopy(model)
    model.requires_grad_(True)  # zoo models may come with frozen parts (MiniLM's encoder): QAT trains all
    from models.evaluation import take
    from models.frameworks.torch_fw import to_tensors

    x, y = entry.load_data("train")
    order = np.random.default_rng(args.seed).permutation(len(y))[: args.train_samples]
    x, y = take(x, order), torch.from_numpy(y[order])
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
    conf = QuantizationAwareTrainingConfig(op_type_dict=_rule(args.granularity))
    manager = prepare_compression(model, conf) if quantize else None
    hooks = manager or _NoHooks()
    start = time.perf_counter()
    hooks.on_train_begin()
    for epoch in range(args.epochs):
        model.train()
        hooks.on_epoch_begin(epoch)
        perm = torch.randperm(len(y))
        for step, first in enumerate(range(0, len(y), args.batch_size)):
            idx = perm[first : first + args.batch_size]
            hooks.on_step_begin(step)
            inputs, kwargs = to_tensors(take(x, idx.numpy()))
            loss = torch.nn.functional.cross_entropy(model(*inputs, **kwargs), y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            hooks.on_step_end()
        hooks.on_epoch_end()
    hooks.on_train_end()
    seconds = time.perf_counter() - start
    return entry.evaluate(entry.predict_fn(manager.model if manager else model.eval())), seconds


class _NoHooks:
    def __getattr__(self, name):
        return lambda *args: None


def main(argv: list[str] | None = None) -> None:
    import torch

    import models

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="resnet8_fashion")
    parser.add_argument("--granularity", default="per_tensor", choices=("per_tensor", "per_channel"))
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    entry = models.get(args.model)
    model = entry.prepare("torch").model.eval()
    fp32 = entry.evaluate(entry.predict_fn(model))
    ptq_acc = ptq(entry, model, args.granularity)
    qat_acc, seconds = qat(entry, model, args)
    tuned_acc, _ = qat(entry, model, args, quantize=False)
    print(f"model {args.model}, int8 weights {args.granularity}, eval examples {len(entry.load_data('eval')[1])}")
    print(f"fp32 {fp32:.4f}")
    print(f"PTQ  {ptq_acc:.4f}  loss {100 * (fp32 - ptq_acc):+.2f} points")
    print(f"fp32 fine-tuned the same way (control) {tuned_acc:.4f}")
    print(f"QAT  {qat_acc:.4f}  loss {100 * (fp32 - qat_acc):+.2f} points  ({args.epochs} epochs, {seconds:.0f} s)")


if __name__ == "__main__":
    main()
