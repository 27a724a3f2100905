"""Benchmark suites: YAML files validated at the boundary with pydantic.

A suite is data: models × frameworks × techniques, with ``include``/``exclude`` edits to the product,
and one ``settings`` block of benchmark settings (documented defaults, overridable per technique).
Every field carries a description; a validation error names the YAML line of the offending value
and suggests the closest known key or technique ("did you mean").

    suite = load_suite("suites/smoke.yaml")
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model, field_validator, model_validator

import compressor
from compressor.errors import did_you_mean_hint

from .errors import SuiteError
from .techniques import technique_kinds

FRAMEWORKS = tuple(compressor.frameworks())  # the frameworks compressor has backends for
STRATEGIES = tuple(compressor.available_strategies())
__all__ = ["SuiteError", "Suite", "load_suite", "parse_suite"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BenchSettings(_Strict):
    """How a job measures; suite-level defaults, each overridable per technique."""

    batch_size: int = Field(1, ge=1, description="Batch size of the latency measurement (p50/p90/p99 in ms).")
    throughput_batch: int = Field(32, ge=1, description="Batch size of the throughput measurement (samples/s).")
    warmup: int = Field(5, ge=0, description="Untimed runs before each timed round.")
    iterations: int = Field(30, ge=1, description="Timed runs per model per round.")
    rounds: int = Field(3, ge=1, description="A/B rounds alternating candidate and fp32 baselines (cancels drift).")
    threads: int = Field(1, ge=1, description="Intra-op threads of the framework runtime.")
    cpus_per_job: int = Field(1, ge=1, description="Cores pinned for each job's subprocess.")
    eval_samples: int | None = Field(
        None, ge=1, description="Evaluate on N eval examples evenly spread over the split (None: all)."
    )
    calib_samples: int = Field(
        128, ge=1, description="Calibration examples for static quantization (rounded down to whole batches of 32)."
    )


def _constrained(info: Any) -> Any:
    """A field's type with its constraints (ge=...) attached, so overrides are checked like defaults."""
    return Annotated[(info.annotation, *info.metadata)] if info.metadata else info.annotation


SettingsOverride = create_model(
    "SettingsOverride",
    __config__=ConfigDict(extra="forbid", frozen=True),
    __doc__="Some of BenchSettings' fields; the rest come from the layer below.",
    **{
        name: (_constrained(info) | None, Field(None, description=info.description))
        for name, info in BenchSettings.model_fields.items()
    },
)


def overrides(value: Any) -> dict[str, Any]:
    return value.model_dump(exclude_none=True) if value is not None else {}


class TechniqueSpec(_Strict):
    """One compression technique as it appears in job ids (``name``) and what it runs (``kind``)."""

    name: str = Field(description="Label of the technique in job ids and results; unique within the suite.")
    kind: str = Field(description="Registered technique: " + ", ".join(technique_kinds()) + ".")
    strategy: str | None = Field(None, description="Tuning strategy (kind 'tuned' only): " + ", ".join(STRATEGIES))
    max_trials: int = Field(100, ge=1, description="Tuning budget in trials (kind 'tuned').")
    tolerable_loss: float = Field(0.01, ge=0, lt=1, description="Relative accuracy loss the tuner accepts.")
    tuning_timeout_s: float = Field(
        0.0,
        ge=0,
        description="Tuning time budget (kind 'tuned'): 0 stops at the first plan meeting the criterion; more "
        "explores up to max_trials within it and keeps the best passing plan for speed.",
    )
    timeout_s: float | None = Field(None, gt=0, description="Per-job limit for this technique (None: the suite's).")
    settings: SettingsOverride = Field(  # type: ignore[valid-type]
        default_factory=SettingsOverride, description="Overrides of the suite's settings for this technique's jobs."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Technique-specific options (e.g. debug).")

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, value: str) -> str:
        kinds = technique_kinds()
        if value not in kinds:
            raise ValueError(f"unknown technique {value!r}{_hint(value, kinds)}; known: {', '.join(kinds)}")
        return value

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, value: str | None) -> str | None:
        known = compressor.available_strategies()
        if value is not None and value not in known:
            raise ValueError(f"unknown strategy {value!r}{_hint(value, known)}; known: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _strategy_iff_tuned(self) -> TechniqueSpec:
        if self.kind == "tuned" and self.strategy is None:
            raise ValueError(
                f"technique {self.name!r} of kind 'tuned' needs a strategy: one of {', '.join(STRATEGIES)}"
            )
        if self.kind != "tuned" and self.strategy is not None:
            raise ValueError(f"technique {self.name!r}: strategy applies to kind 'tuned' only, not {self.kind!r}")
        return self

    @model_validator(mode="after")
    def _known_options(self) -> TechniqueSpec:
        from .techniques.training import OPTIONS, options_for

        if self.kind in OPTIONS:
            options_for(self.kind, self.options)  # unknown keys fail at load time, with a suggestion
        return self


class MatrixEdit(_Strict):
    """A pattern over jobs: a missing field matches anything (exclude) or is required (include)."""

    model: str | None = Field(None, description="Model name from the zoo.")
    framework: str | None = Field(None, description="Framework: " + ", ".join(FRAMEWORKS) + ".")
    technique: str | None = Field(None, description="Technique name (a `techniques[].name`).")


class ExecutorSpec(_Strict):
    """Where the suite's jobs run; ``harness run --executor/--jobs`` override ``kind``/``jobs``."""

    kind: str = Field("local", description="Registered executor (local, docker, ...; see docs/extending.md).")
    jobs: int = Field(1, ge=1, description="Jobs run at once, each on its own cores (fewer when cores run out).")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Keyword options of the executor (e.g. local: pin; docker: mem_limit)."
    )

    @model_validator(mode="after")
    def _known(self) -> ExecutorSpec:
        from .executors import check_options

        check_options(self.kind, self.options)  # an unknown kind or option fails at load time, with a hint
        return self


class Suite(_Strict):
    """A benchmark suite: the job matrix and how each job is measured."""

    name: str = Field(description="Suite name, recorded in every result row's run id.")
    description: str = Field("", description="What the suite is for.")
    seed: int = Field(0, description="Seed of every random choice (tuning strategies, data subsets).")
    timeout_s: float = Field(600.0, gt=0, description="Per-job wall-clock limit; a job past it is killed (timeout).")
    models: list[str] = Field(min_length=1, description="Zoo model names (see `harness models list`).")
    frameworks: list[str] = Field(min_length=1, description="Frameworks: " + ", ".join(FRAMEWORKS) + ".")
    techniques: list[TechniqueSpec] = Field(min_length=1, description="Techniques applied to every model.")
    settings: BenchSettings = Field(default_factory=BenchSettings, description="Default benchmark settings.")
    model_settings: dict[str, SettingsOverride] = Field(  # type: ignore[valid-type]
        default_factory=dict,
        description="Per-model overrides of `settings` (layered: suite → model → technique), keyed by model name.",
    )
    include: list[MatrixEdit] = Field(
        default_factory=list, description="Extra jobs outside the product (model, framework, technique all set)."
    )
    exclude: list[MatrixEdit] = Field(default_factory=list, description="Patterns of jobs removed from the product.")
    executor: ExecutorSpec = Field(default_factory=ExecutorSpec, description="Where and how many jobs run at once.")

    @field_validator("frameworks")
    @classmethod
    def _known_frameworks(cls, value: list[str]) -> list[str]:
        known = compressor.frameworks()
        for fw in value:
            if fw not in known:
                raise ValueError(f"unknown framework {fw!r}{_hint(fw, known)}; known: {', '.join(known)}")
        return value

    @field_validator("models")
    @classmethod
    def _known_models(cls, value: list[str]) -> list[str]:
        import models

        known = list(models.names())
        for name in value:
            if name not in known:
                raise ValueError(f"unknown model {name!r}{_hint(name, known)}; known: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Suite:
        names = [t.name for t in self.techniques]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"technique names must be unique; repeated: {dupes}")
        for model in self.model_settings:
            if model not in self.models:
                raise ValueError(
                    f"model_settings names model {model!r} that is not in models{_hint(model, self.models)}"
                )
        for edit in self.include + self.exclude:
            if edit.technique is not None and edit.technique not in names:
                raise ValueError(f"include/exclude names technique {edit.technique!r}{_hint(edit.technique, names)}")
        for edit in self.include:
            if None in (edit.model, edit.framework, edit.technique):
                raise ValueError("an include entry needs model, framework and technique")
        return self

    def technique(self, name: str) -> TechniqueSpec:
        return next(t for t in self.techniques if t.name == name)


def _hint(value: str, known: Any) -> str:
    return did_you_mean_hint(str(value), known)


def load_suite(path: str | Path) -> Suite:
    """Parse and validate a suite file; raises ``SuiteError`` naming the line of each problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SuiteError(f"cannot read suite {str(path)!r}: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise SuiteError(
            f"cannot read suite {str(path)!r}: not UTF-8 text (byte {exc.start}); a suite is a YAML file"
        ) from None
    return parse_suite(text, source=str(path))


def parse_suite(text: str, source: str = "<suite>") -> Suite:
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise SuiteError(f"{source}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise SuiteError(f"{source}: a suite is a mapping of fields ({', '.join(Suite.model_fields)})")
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise SuiteError(_describe(exc, root, source)) from None


def _describe(exc: ValidationError, root: yaml.Node, source: str) -> str:
    lines = [f"{source}: {exc.error_count()} error(s) in suite"]
    for err in exc.errors():
        loc = tuple(err["loc"])
        line = _line_of(root, loc)
        where = ".".join(str(p) for p in loc) or "(top level)"
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            fields = _fields_at(loc[:-1])
            message = f"unknown key {loc[-1]!r}{_hint(loc[-1], fields)}; allowed: {', '.join(fields)}"
        lines.append(f"  line {line}: {where}: {message}" if line else f"  {where}: {message}")
    return "\n".join(lines)


def _fields_at(loc: tuple) -> list[str]:
    """Field names of the model found at ``loc`` (for did-you-mean on misspelled keys)."""
    model: Any = Suite
    for part in loc:
        if part not in model.model_fields:
            continue  # a list index or a dict key: the item's model is the one already found
        annotation = str(model.model_fields[part].annotation)
        models = (SettingsOverride, BenchSettings, TechniqueSpec, MatrixEdit, ExecutorSpec)
        model = next((m for m in models if m.__name__ in annotation), None)
        if model is None:
            return []
    return list(model.model_fields)


def _line_of(node: yaml.Node | None, loc: tuple) -> int | None:
    """1-based line of the YAML node at ``loc``; the deepest node found when the path ends early."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            key, node = match
            line = key.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line
