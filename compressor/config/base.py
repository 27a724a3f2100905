"""The base of every public config: a frozen dataclass validated on construction.

Serialised form: a plain dict of the fields (nested configs as dicts, tuples as lists). Values JSON
cannot carry (a teacher model, example inputs) become ``{"__object__": "module.Class"}`` in
``to_json``; ``from_dict`` then asks for them back as keyword overrides rather than guessing.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any, ClassVar, TypeVar

from ..errors import ConfigError, UnknownArgumentError, UnknownKeyError
from .frozen import thaw

C = TypeVar("C", bound="Config")

OBJECT_MARKER = "__object__"


@dataclasses.dataclass(frozen=True)
class Config:
    """Shared behaviour: per-field checks, cross-field checks, dict/JSON round trips."""

    # Config classes register here by name so nested configs (a distillation criterion) can be
    # serialised with a type tag and read back.
    _registry: ClassVar[dict[str, type[Config]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        Config._registry[cls.__name__] = cls

    def __new__(cls, *args: Any, **kwargs: Any) -> Config:
        # The dataclass __init__ would raise a bare TypeError for a misspelled argument; checked here,
        # before it runs, so the error names the class, the argument and the closest known one.
        if kwargs:
            known = argument_names(cls)
            for key in kwargs:
                if key not in known:
                    raise UnknownArgumentError(cls.__name__, key, known)
        return super().__new__(cls)

    def __post_init__(self, *_initvars: Any) -> None:
        for f in dataclasses.fields(self):
            check = f.metadata.get("check")
            if check is not None:
                object.__setattr__(self, f.name, check(f.name, getattr(self, f.name)))
        self._validate()

    def _validate(self) -> None:
        """Cross-field rules; subclasses override."""

    def replace(self: C, **changes: Any) -> C:
        """A copy with some fields changed, validated like a new config."""
        return dataclasses.replace(self, **changes)

    # --- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {f.name: _to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_json(self, **dumps_kwargs: Any) -> str:
        return json.dumps(_jsonable(self.to_dict()), **dumps_kwargs)

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any], **objects: Any) -> C:
        """Build from ``to_dict``/``to_json`` output; ``objects`` supply fields JSON could not hold."""
        try:
            return cls._from_dict(data, **objects)
        except ConfigError as exc:
            raise exc.with_prefix(cls.__name__) from None

    @classmethod
    def _from_dict(cls: type[C], data: dict[str, Any], **objects: Any) -> C:
        if not isinstance(data, dict):
            raise ConfigError(cls.__name__, data, "a dict of field values")
        known = {f.name for f in dataclasses.fields(cls)}
        init_vars = _init_var_names(cls)
        kwargs: dict[str, Any] = {}
        for key, value in data.items():
            if key not in known and key not in init_vars:
                raise UnknownKeyError("", key, known | init_vars)
            if isinstance(value, dict) and OBJECT_MARKER in value and key not in objects:
                raise ConfigError(
                    key,
                    value,
                    f"pass {key}=<object> to from_dict",
                    reason=f"the serialised config refers to a {value[OBJECT_MARKER]} that JSON cannot carry",
                )
            kwargs[key] = value
        kwargs.update(objects)
        return cls(**kwargs)

    @classmethod
    def from_json(cls: type[C], text: str, **objects: Any) -> C:
        return cls.from_dict(json.loads(text), **objects)


def nested(config_cls: type[Config] | tuple[type[Config], ...]):
    """Check for a field holding another config; accepts an instance or its dict form."""
    classes = config_cls if isinstance(config_cls, tuple) else (config_cls,)

    def check(field: str, value: Any) -> Config:
        if isinstance(value, classes):
            return value
        if isinstance(value, dict):
            cls = classes[0]
            tag = value.get("__type__")
            if tag is not None:
                matches = [c for c in classes if c.__name__ == tag]
                if not matches:
                    raise ConfigError(f"{field}.__type__", tag, [c.__name__ for c in classes])
                cls = matches[0]
            body = {k: v for k, v in value.items() if k != "__type__"}
            try:
                return cls._from_dict(body)
            except ConfigError as exc:
                raise exc.with_prefix(field) from None
        names = " or ".join(c.__name__ for c in classes)
        raise ConfigError(field, value, f"a {names} (or its dict form)")

    return check


def argument_names(cls: type) -> set[str]:
    """The keyword arguments a config class takes: its init fields and its ``InitVar`` shortcuts."""
    return {f.name for f in dataclasses.fields(cls) if f.init} | _init_var_names(cls)


def _init_var_names(cls: type) -> set[str]:
    return {
        name
        for name, hint in getattr(cls, "__dataclass_fields__", {}).items()
        if getattr(hint, "_field_type", None) is dataclasses._FIELD_INITVAR  # type: ignore[attr-defined]
    }


def _to_plain(value: Any) -> Any:
    if isinstance(value, Config):
        out = value.to_dict()
        out["__type__"] = type(value).__name__
        return out
    return thaw(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    kind = type(value)
    return {OBJECT_MARKER: f"{kind.__module__}.{kind.__qualname__}"}
