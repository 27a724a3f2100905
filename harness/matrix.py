"""The job matrix: models × frameworks × techniques, minus ``exclude``, plus ``include``.

Combinations a model or technique cannot run (a zoo model without that framework, an
onnxrt-only technique on torch) are left out with the reason in ``Matrix.skipped``, never silently.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .spec import BenchSettings, MatrixEdit, Suite, TechniqueSpec, overrides
from .techniques import get_technique


@dataclass(frozen=True)
class Job:
    """One unit of work for an executor; plain data, JSON round-trippable."""

    job_id: str
    suite: str
    model: str
    framework: str
    technique: dict[str, Any]  # TechniqueSpec as a dict
    settings: dict[str, Any]  # BenchSettings, suite defaults with the technique's overrides applied
    seed: int
    timeout_s: float
    work_dir: str | None = None  # the job's persistent workspace (tuning history, calibration); None: a temp dir
    index: int | None = None  # position in the suite's matrix (reports list rows in this order)

    @property
    def technique_name(self) -> str:
        return self.technique["name"]

    def technique_spec(self) -> TechniqueSpec:
        return TechniqueSpec.model_validate(self.technique)

    def bench_settings(self) -> BenchSettings:
        return BenchSettings.model_validate(self.settings)

    def content_key(self) -> str:
        """16 hex digits naming what the job computes: model (its zoo recipe), framework, technique, settings,
        seed. Two runs of the same job share the key, so a rerun resumes the job's tuning history."""
        import hashlib

        import models

        identity = {
            "model": self.model, "framework": self.framework, "technique": self.technique,
            "settings": self.settings, "seed": self.seed, "recipe": models.get(self.model).cache_key(self.framework),
        }  # fmt: skip
        return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls(**json.loads(text))


@dataclass
class Matrix:
    jobs: list[Job]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (job id, reason)


def job_id(model: str, framework: str, technique: str) -> str:
    return f"{model}/{framework}/{technique}"


def _matches(edit: MatrixEdit, model: str, framework: str, technique: str) -> bool:
    return all(
        want is None or want == have
        for want, have in ((edit.model, model), (edit.framework, framework), (edit.technique, technique))
    )


def _unsupported(model: str, framework: str, spec: TechniqueSpec) -> str | None:
    import models

    if framework not in models.get(model).frameworks:
        return f"model {model!r} has no {framework} form"
    if framework not in get_technique(spec.kind).frameworks:
        return f"technique {spec.kind!r} does not run on {framework}"
    return None


def expand(suite: Suite) -> Matrix:
    """Every job of ``suite`` in a stable order (model, framework, technique as listed)."""
    combos = [
        (m, fw, t.name)
        for m in suite.models
        for fw in suite.frameworks
        for t in suite.techniques
        if not any(_matches(e, m, fw, t.name) for e in suite.exclude)
    ]
    for edit in suite.include:
        combo = (edit.model, edit.framework, edit.technique)
        if combo not in combos:
            combos.append(combo)
    matrix = Matrix(jobs=[])
    for model, framework, name in combos:
        spec = suite.technique(name)
        reason = _unsupported(model, framework, spec)
        if reason:
            matrix.skipped.append((job_id(model, framework, name), reason))
            continue
        settings = suite.settings.model_copy(
            update={**overrides(suite.model_settings.get(model)), **overrides(spec.settings)}
        )
        matrix.jobs.append(
            Job(
                job_id=job_id(model, framework, name),
                suite=suite.name,
                model=model,
                framework=framework,
                technique=spec.model_dump(),
                settings=BenchSettings.model_validate(settings.model_dump()).model_dump(),
                seed=suite.seed,
                timeout_s=spec.timeout_s or suite.timeout_s,
                index=len(matrix.jobs),
            )
        )
    return matrix
