"""1.x conf.yaml sections → 2.x config objects (the mapping seed 001 documents in its comments)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config as cfg
from ..config.checks import tensor_names
from ..errors import ConfigError
from .frameworks import FrameworkInfo, framework_info
from .yaml_tree import YamlDoc, read_yaml

APPROACHES_1X = {
    "post_training_static_quant": "static",
    "post_training_dynamic_quant": "dynamic",
    "post_training_auto_quant": "auto",
    "quant_aware_training": "qat",
}
PRUNE_TYPES_1X = {"basic_magnitude": "magnitude"}
# 1.x key → 2.x WeightPruningConfig key, for the top level and for each pruner.
PRUNING_KEYS_1X = {
    "start_step": "start_step",
    "end_step": "end_step",
    "start_epoch": "start_step",
    "end_epoch": "end_step",
    "target_sparsity": "target_sparsity",
    "prune_type": "pruning_type",
    "pattern": "pattern",
    "names": "op_names",
    "excluded_names": "excluded_op_names",
    "extra_excluded_names": "excluded_op_names",
    "update_frequency": "pruning_frequency",
    "update_frequency_on_step": "pruning_frequency",
    "prune_domain": "pruning_scope",
    "sparsity_decay_type": "sparsity_decay_type",
    "max_sparsity_ratio_per_layer": "max_sparsity_ratio_per_op",
    "min_sparsity_ratio_per_layer": "min_sparsity_ratio_per_op",
    "prune_layer_type": "pruning_op_types",
}
_PATTERN_PREFIX = re.compile(r"^(ic|oc|tile)_pattern_")


@dataclass(frozen=True)
class ModelInfo:
    name: str
    framework: FrameworkInfo | None
    inputs: tuple = ()
    outputs: tuple = ()


@dataclass(frozen=True)
class TrainSettings:
    """The 1.x ``train:`` block: 2.x leaves the loop to the user, so these are returned for it."""

    start_epoch: int = 0
    end_epoch: int | None = None
    iteration: int | None = None
    frequency: int | None = None
    batch_size: int | None = None


@dataclass
class LoadedConf:
    """Everything a 1.x conf.yaml said, as 2.x objects plus what 2.x takes as code."""

    source: str
    model: ModelInfo | None = None
    quantization: cfg.PostTrainingQuantConfig | cfg.QuantizationAwareTrainingConfig | None = None
    pruning: cfg.WeightPruningConfig | None = None
    distillation: cfg.DistillationConfig | None = None
    mixed_precision: cfg.MixedPrecisionConfig | None = None
    benchmark: cfg.BenchmarkConfig | None = None
    train: dict[str, TrainSettings] = field(default_factory=dict)
    workspace: dict[str, Any] = field(default_factory=dict)
    user_code: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # (config attribute, 2.x field) → the 1.x yaml path it came from; used by `compressor migrate`.
    sources: dict[tuple[str, str], str] = field(default_factory=dict)

    def configs(self) -> list[Any]:
        found = [self.quantization, self.pruning, self.distillation, self.mixed_precision, self.benchmark]
        return [c for c in found if c is not None]


def load_yaml(path_or_text: str | Path) -> LoadedConf:
    """Turn a 1.x ``conf.yaml`` (path or text) into 2.x config objects; see ``LoadedConf``."""
    doc = read_yaml(path_or_text)
    return _Mapper(doc).run()


class _Mapper:
    def __init__(self, doc: YamlDoc) -> None:
        self.doc = doc
        self.out = LoadedConf(source=doc.source, notes=list(doc.notes))

    def get(self, path: str, default: Any = None) -> Any:
        node: Any = self.doc.data
        for part in path.split("."):
            if not isinstance(node, dict) or part not in node:
                return default
            node = node[part]
        return default if node is None else node

    def has(self, path: str) -> bool:
        parent, _, key = path.rpartition(".")
        node = self.get(parent) if parent else self.doc.data
        return isinstance(node, dict) and key in node

    def build(self, attr: str, cls: type, sources: dict[str, str], **kwargs: Any) -> Any:
        """``cls(**kwargs)``; an error is re-rooted at the yaml path its field came from."""
        for name, path in sources.items():
            self.out.sources[(attr, name)] = path
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            root = re.split(r"[.\[]", exc.field, maxsplit=1)[0]
            path = sources.get(root)
            if path is None:
                raise ConfigError(
                    exc.field,
                    exc.value,
                    exc.allowed,
                    reason=exc.reason,
                    suggestion=exc.suggestion,
                    location=self.doc.source,
                ) from None
            rest = exc.field[len(root) :]
            raise ConfigError(
                path + rest,
                exc.value,
                exc.allowed,
                reason=exc.reason,
                suggestion=exc.suggestion,
                location=self.doc.where(path),
            ) from None

    def collect(self, pairs: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        """{2.x name: 1.x path} → (kwargs for the paths present, their sources)."""
        kwargs, sources = {}, {}
        for name, path in pairs.items():
            if self.has(path):
                kwargs[name] = self.get(path)
                sources[name] = path
        return kwargs, sources

    # --- sections ----------------------------------------------------------------------------
    def run(self) -> LoadedConf:
        self.model_section()
        self.user_code("quantization.calibration.dataloader")
        self.user_code("evaluation.accuracy")
        self.user_code("evaluation.performance.dataloader")
        self.user_code("evaluation.performance.postprocess")
        if self.has("evaluation.accuracy.configs"):
            self.out.notes.append("evaluation.accuracy.configs: accuracy runs in-process in 2.x; ignored")
        tuning = self.tuning_section()
        # A yaml with only `tuning:` is a quantization yaml; beside another technique it tunes that one.
        others = ("pruning", "distillation", "mixed_precision", "evaluation")
        if self.has("quantization") or (self.has("tuning") and not any(self.has(s) for s in others)):
            self.quantization_section(*tuning)
        if self.has("mixed_precision"):
            self.mixed_precision_section(*tuning)
        if self.has("pruning"):
            self.pruning_section()
        if self.has("distillation"):
            self.distillation_section()
        if self.has("evaluation.performance"):
            self.benchmark_section()
        if self.has("tuning.workspace"):
            self.out.workspace = dict(self.get("tuning.workspace", {}))
        return self.out

    def user_code(self, path: str) -> None:
        if self.get(path) is not None:
            self.out.user_code[path] = self.get(path)
            self.out.notes.append(
                f"{path}: 2.x takes this as code (a dataloader, eval_func/eval_metric or postprocess); kept in user_code"
            )

    def model_section(self) -> None:
        fw = None
        if self.has("model.framework"):
            fw = framework_info(self.get("model.framework"), location=self.doc.where("model.framework"))
        self.framework = fw
        common, sources = self.collect(
            {"model_name": "model.name", "inputs": "model.inputs", "outputs": "model.outputs"}
        )
        if self.has("device"):
            common["device"], sources["device"] = self.get("device"), "device"
        if fw is not None:
            common["backend"], sources["backend"] = fw.backend, "model.framework"
        self.common, self.common_sources = common, sources
        if self.has("model"):
            names = tensor_names  # the configs' own normalisation of "a,b" tensor lists
            self.out.model = ModelInfo(
                name=str(self.get("model.name", "")),
                framework=fw,
                inputs=names("model.inputs", self.get("model.inputs", ())),
                outputs=names("model.outputs", self.get("model.outputs", ())),
            )

    def tuning_section(self) -> tuple[Any, Any]:
        tc_kwargs, tc_sources = self.collect(
            {
                "strategy": "tuning.strategy.name",
                "objective": "tuning.objective",
                "timeout": "tuning.exit_policy.timeout",
                "max_trials": "tuning.exit_policy.max_trials",
                "random_seed": "tuning.random_seed",
            }
        )
        if "strategy" not in tc_kwargs and (self.has("tuning") or self.has("quantization")):
            # 1.x tuned with `basic` unless told otherwise; keep that behaviour (2.x defaults to `auto`).
            tc_kwargs["strategy"], tc_sources["strategy"] = "basic", "tuning.strategy.name (1.x default)"
        tuning = self.build("tuning_criterion", cfg.TuningCriterion, tc_sources, **tc_kwargs)
        acc_kwargs, acc_sources = self.collect({"higher_is_better": "tuning.accuracy_criterion.higher_is_better"})
        rel, ab = self.has("tuning.accuracy_criterion.relative"), self.has("tuning.accuracy_criterion.absolute")
        if rel and ab:
            raise ConfigError(
                "tuning.accuracy_criterion",
                self.get("tuning.accuracy_criterion"),
                "either relative or absolute",
                reason="both are set",
                location=self.doc.where("tuning.accuracy_criterion"),
            )
        if rel or ab:
            kind = "relative" if rel else "absolute"
            acc_kwargs["criterion"], acc_kwargs["tolerable_loss"] = kind, self.get(f"tuning.accuracy_criterion.{kind}")
            acc_sources["criterion"] = acc_sources["tolerable_loss"] = f"tuning.accuracy_criterion.{kind}"
        accuracy = self.build("accuracy_criterion", cfg.AccuracyCriterion, acc_sources, **acc_kwargs)
        return tuning, accuracy

    def quantization_section(self, tuning: cfg.TuningCriterion, accuracy: cfg.AccuracyCriterion) -> None:
        kwargs, sources = dict(self.common), dict(self.common_sources)
        approach = self.get("quantization.approach", "post_training_static_quant")
        if approach not in APPROACHES_1X:
            raise ConfigError(
                "quantization.approach",
                approach,
                sorted(APPROACHES_1X),
                location=self.doc.where("quantization.approach"),
            )
        mapped = APPROACHES_1X[approach]
        fw = self.framework
        if fw is not None and fw.dynamic_only:
            if self.has("quantization.approach") and mapped != "dynamic":
                raise ConfigError(
                    "quantization.approach",
                    approach,
                    "post_training_dynamic_quant",
                    reason=f"{fw.name} models are quantized dynamically (IntegerOps); use onnxrt_qlinearops for "
                    "static quantization",
                    location=self.doc.where("quantization.approach"),
                )
            mapped = "dynamic"
        if fw is not None:
            kwargs["quant_format"], sources["quant_format"] = fw.quant_format, "model.framework"
        more, more_sources = self.collect({"op_name_dict": "quantization.op_wise", "recipes": "quantization.recipes"})
        kwargs.update(more)
        sources.update(more_sources)
        op_types = {}
        if self.has("quantization.model_wise"):
            op_types[".*"] = self.get("quantization.model_wise")
            sources["op_type_dict"] = "quantization.model_wise"
        if self.has("quantization.optype_wise"):
            op_types.update(self.get("quantization.optype_wise") or {})
            sources["op_type_dict"] = "quantization.optype_wise"
        if op_types:
            kwargs["op_type_dict"] = op_types
        if self.has("tuning.exit_policy.performance_only"):
            kwargs["performance_only"] = self.get("tuning.exit_policy.performance_only")
            sources["performance_only"] = "tuning.exit_policy.performance_only"
        kwargs["tuning_criterion"], kwargs["accuracy_criterion"] = tuning, accuracy
        if mapped == "qat":
            self.out.quantization = self.build("quantization", cfg.QuantizationAwareTrainingConfig, sources, **kwargs)
            self.train_section("quantization")
            return
        kwargs["approach"], sources["approach"] = mapped, "quantization.approach"
        if self.has("quantization.calibration.sampling_size"):
            kwargs["calibration_sampling_size"] = _sampling_size(self.get("quantization.calibration.sampling_size"))
            sources["calibration_sampling_size"] = "quantization.calibration.sampling_size"
        self.out.quantization = self.build("quantization", cfg.PostTrainingQuantConfig, sources, **kwargs)

    def mixed_precision_section(self, tuning: cfg.TuningCriterion, accuracy: cfg.AccuracyCriterion) -> None:
        kwargs, sources = dict(self.common), dict(self.common_sources)
        if self.has("mixed_precision.precisions"):
            kwargs["precisions"] = _split(self.get("mixed_precision.precisions"))
            sources["precisions"] = "mixed_precision.precisions"
        kwargs["tuning_criterion"], kwargs["accuracy_criterion"] = tuning, accuracy
        self.out.mixed_precision = self.build("mixed_precision", cfg.MixedPrecisionConfig, sources, **kwargs)

    def pruning_section(self) -> None:
        approach = self.get("pruning.approach", {})
        if len(approach) != 1:
            raise ConfigError(
                "pruning.approach",
                approach,
                "exactly one of weight_compression, weight_compression_pytorch",
                location=self.doc.where("pruning.approach"),
            )
        ((name, body),) = approach.items()
        base = f"pruning.approach.{name}"
        body = body or {}
        if body.get("initial_sparsity") not in (None, 0, 0.0):
            raise ConfigError(
                f"{base}.initial_sparsity",
                body["initial_sparsity"],
                "0 or absent",
                reason="pruning always starts from the dense model",
                location=self.doc.where(f"{base}.initial_sparsity"),
            )
        kwargs, sources = _pruning_keys(body, base)
        pruners = []
        for i, pruner in enumerate(body.get("pruners") or []):
            entry, _ = _pruning_keys(pruner or {}, f"{base}.pruners[{i}]")
            pruners.append(entry)
        if pruners:
            kwargs["pruning_configs"], sources["pruning_configs"] = pruners, f"{base}.pruners"
        if name == "weight_compression" and any(k in body for k in ("start_epoch", "end_epoch")):
            self.out.notes.append(
                f"{base}: start_epoch/end_epoch map to start_step/end_step (as seed 001 documents); "
                "call on_step_begin once per epoch to keep the epoch meaning"
            )
        self.out.pruning = self.build("pruning", cfg.WeightPruningConfig, sources, **kwargs)
        self.train_section("pruning")

    def distillation_section(self) -> None:
        kwargs, sources = {}, {}
        criterion = self.get("distillation.train.criterion")
        if criterion:
            if len(criterion) != 1:
                raise ConfigError(
                    "distillation.train.criterion",
                    criterion,
                    "exactly one loss",
                    location=self.doc.where("distillation.train.criterion"),
                )
            ((loss, params),) = criterion.items()
            cls = {
                "KnowledgeDistillationLoss": cfg.KnowledgeDistillationLossConfig,
                "SelfKnowledgeDistillationLoss": cfg.SelfKnowledgeDistillationLossConfig,
            }.get(loss)
            path = f"distillation.train.criterion.{loss}"
            if cls is None:
                raise ConfigError(
                    "distillation.train.criterion",
                    loss,
                    ["KnowledgeDistillationLoss", "SelfKnowledgeDistillationLoss"],
                    location=self.doc.where(path),
                )
            params = params or {}
            kwargs["criterion"] = self.build(
                "distillation_criterion", cls, {k: f"{path}.{k}" for k in params}, **params
            )
            sources["criterion"] = path
        if self.has("distillation.train.optimizer"):
            kwargs["optimizer"] = self.get("distillation.train.optimizer")
            sources["optimizer"] = "distillation.train.optimizer"
        self.out.distillation = self.build("distillation", cfg.DistillationConfig, sources, **kwargs)
        self.train_section("distillation")

    def train_section(self, section: str) -> None:
        base = f"{section}.train"
        if not self.has(base):
            return
        values = {
            "start_epoch": self.get(f"{base}.start_epoch", 0),
            "end_epoch": self.get(f"{base}.end_epoch", self.get(f"{base}.epoch")),
            "iteration": self.get(f"{base}.iteration"),
            "frequency": self.get(f"{base}.frequency"),
            "batch_size": self.get(f"{base}.dataloader.batch_size"),
        }
        for key, value in values.items():
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
                raise ConfigError(
                    f"{base}.{key}", value, "a non-negative integer", location=self.doc.where(f"{base}.{key}")
                )
        self.out.train[section] = TrainSettings(**values)
        if self.has(f"{base}.dataloader.dataset"):
            self.user_code(f"{base}.dataloader")

    def benchmark_section(self) -> None:
        base = "evaluation.performance"
        kwargs, sources = self.collect(
            {
                "warmup": f"{base}.warmup",
                "iteration": f"{base}.iteration",
                "cores_per_instance": f"{base}.configs.cores_per_instance",
                "num_of_instance": f"{base}.configs.num_of_instance",
                "inter_num_of_threads": f"{base}.configs.inter_num_of_threads",
                "intra_num_of_threads": f"{base}.configs.intra_num_of_threads",
            }
        )
        for name in ("inputs", "outputs", "model_name", "device", "backend"):
            if name in self.common:
                kwargs[name], sources[name] = self.common[name], self.common_sources[name]
        if self.has(f"{base}.configs.kmp_blocktime"):
            self.out.notes.append(
                f"{base}.configs.kmp_blocktime: an Intel OpenMP setting; export KMP_BLOCKTIME in the environment"
            )
        self.out.benchmark = self.build("benchmark", cfg.BenchmarkConfig, sources, **kwargs)


def _pruning_keys(body: dict, base: str) -> tuple[dict[str, Any], dict[str, str]]:
    kwargs: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for key, value in body.items():
        if key in ("pruners", "initial_sparsity", "method"):
            continue
        new = PRUNING_KEYS_1X[key]
        if new == "pattern" and isinstance(value, str):
            value = _PATTERN_PREFIX.sub("", value)
        if new == "pruning_type" and isinstance(value, str):
            value = PRUNE_TYPES_1X.get(value, value)
        if new == "excluded_op_names" and new in kwargs:
            value = list(_split(kwargs[new])) + list(_split(value))
        kwargs[new], sources[new] = value, f"{base}.{key}"
    return kwargs, sources


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [v.strip() for v in value.split(",") if v.strip()]
    return value


def _sampling_size(value: Any) -> Any:
    if isinstance(value, str):
        parts = _split(value)
        return [int(p) if p.isdigit() else p for p in parts]
    return value
