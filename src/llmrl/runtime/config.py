"""Typed experiment configs: YAML file -> dataclass, then `key=value` overrides.

A trainer declares its settings as a (possibly nested) dataclass whose defaults are
the paper's values; `load_config` fills it from a YAML preset and command-line
overrides such as `ppo.lr=1e-5 env.num_envs=4`. Every key and value is checked
against the dataclass: a typo or a wrong type fails before any training starts,
naming what was wrong and what is accepted.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import types
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A config file, override or value that the config dataclass does not accept."""


class _Raw(str):
    """An override value as typed on the command line, parsed only once its field type is known.

    Deferring the parse keeps `name=on` a string for a `str` field (YAML alone would
    read `on` as True) while `flag=on` still becomes a bool.
    """


def load_config(cls: type[T], path: str | Path | None = None, overrides: Iterable[str] = ()) -> T:
    """Build `cls` from the YAML file at `path` (optional), then apply `key=value` overrides.

    Keys are field names, dotted for nested dataclasses (`ppo.clip_eps=0.1`); values are
    read as YAML (`lr=3e-4`, `sizes=[64,64]`, `model=null`) and checked against the field's
    type. Fields absent from both keep their dataclass defaults. Raises `ConfigError`.
    """
    _check_dataclass(cls)
    data: dict[str, Any] = {}
    if path is not None:
        data = read_yaml_mapping(path)
    for override in overrides:
        _apply_override(cls, data, override)
    return config_from_dict(cls, data)


def read_yaml_mapping(path: str | Path) -> dict[str, Any]:
    """Read a YAML file whose top level is a mapping (an empty file is an empty mapping)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from error
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config keys at its top level, got {type(data).__name__}")
    return data


def config_from_dict(cls: type[T], data: Mapping[str, Any], *, prefix: str = "") -> T:
    """Build dataclass `cls` from a (nested) mapping, checking every key and value type."""
    _check_dataclass(cls)
    if not isinstance(data, Mapping):
        raise ConfigError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {type(data).__name__} {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    for key in data:
        if key not in fields:
            raise ConfigError(_unknown_key_message(f"{prefix}{key}", key, cls))
    kwargs: dict[str, Any] = {}
    for name, field in fields.items():
        dotted = f"{prefix}{name}"
        tp = hints[name]
        if name in data:
            value = data[name]
            if _section_type(tp) is not None and isinstance(value, Mapping):
                # A partial section updates the field's default section rather than the nested class's defaults.
                value = _deep_merge(_default_dict(field), value)
            kwargs[name] = _coerce(value, tp, dotted)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise ConfigError(f"missing required key '{dotted}' ({_type_name(tp)})")
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as error:
        # __post_init__ validation belongs to the trainer; surface it as a config error.
        raise ConfigError(f"invalid {prefix.rstrip('.') or cls.__name__} config: {error}") from error


def config_to_dict(cfg: Any) -> dict[str, Any]:
    """A plain, YAML/JSON-ready dict of a config dataclass (tuples as lists, paths as strings)."""
    if not dataclasses.is_dataclass(cfg) or isinstance(cfg, type):
        raise TypeError(f"config_to_dict expects a dataclass instance, got {type(cfg).__name__}")
    return _plain(dataclasses.asdict(cfg))


def save_config(cfg: Any, path: str | Path) -> Path:
    """Write the resolved config as YAML (atomically), readable back with `load_config`."""
    path = Path(path)
    text = yaml.safe_dump(config_to_dict(cfg), sort_keys=False, default_flow_style=None)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _apply_override(cls: type, data: dict[str, Any], override: str) -> None:
    """Set `a.b.c=value` inside `data`, checking each part of the key against `cls`."""
    key, sep, value = override.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"override {override!r} must look like key=value (e.g. ppo.lr=1e-5)")
    parts = key.split(".")
    node, node_cls = data, cls
    for i, part in enumerate(parts):
        fields = {f.name: f for f in dataclasses.fields(node_cls) if f.init}
        if part not in fields:
            raise ConfigError(_unknown_key_message(key, part, node_cls, source=f"override {override!r}"))
        if i == len(parts) - 1:
            node[part] = _Raw(value.strip())
            return
        tp = typing.get_type_hints(node_cls)[part]
        section = _section_type(tp)
        if section is None:
            raise ConfigError(
                f"override {override!r}: '{'.'.join(parts[: i + 1])}' is a setting of type {_type_name(tp)}, "
                "not a section"
            )
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node, node_cls = child, section


def _coerce(value: Any, tp: Any, name: str) -> Any:
    """Check `value` against type `tp` (converting where lossless), or raise ConfigError."""
    if tp is Any:
        return yaml.safe_load(value) if isinstance(value, _Raw) else value
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (Union, types.UnionType):
        return _coerce_union(value, args, name, tp)
    if isinstance(value, _Raw) and tp is not str and not (origin is Literal and all(isinstance(a, str) for a in args)):
        value = _parse_yaml_scalar(value, name)
    if origin is Literal:
        candidate = str(value) if isinstance(value, _Raw) else value
        for allowed in args:
            if type(candidate) is type(allowed) and candidate == allowed:
                return allowed
        raise ConfigError(f"'{name}' = {value!r} is not one of {', '.join(repr(a) for a in args)}")
    if _is_dataclass_type(tp):
        return config_from_dict(tp, value, prefix=f"{name}.")
    if origin in (list, tuple) or tp in (list, tuple):
        return _coerce_sequence(value, tp, origin or tp, args, name)
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise _type_error(name, value, tp)
        key_tp, value_tp = args or (Any, Any)
        return {_coerce(k, key_tp, f"{name} key"): _coerce(v, value_tp, f"{name}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _type_error(name, value, tp)
    if tp is int:
        return _coerce_int(value, name)
    if tp is float:
        return _coerce_float(value, name)
    if tp is str:
        if isinstance(value, str):
            return str(value)
        raise _type_error(name, value, tp, hint=" (quote it in YAML to keep it a string)")
    if tp is Path:
        if isinstance(value, str | Path):
            return Path(value)
        raise _type_error(name, value, tp)
    if isinstance(tp, type):
        if isinstance(value, tp):
            return value
        raise _type_error(name, value, tp)
    raise ConfigError(f"'{name}' has a type the config loader does not support: {tp!r}")


def _coerce_union(value: Any, args: tuple[Any, ...], name: str, tp: Any) -> Any:
    """Optional[X] and X | Y: None when allowed, else the first member type that accepts the value."""
    parsed = _parse_yaml_scalar(value, name) if isinstance(value, _Raw) else value
    if parsed is None:
        if type(None) in args:
            return None
        raise _type_error(name, value, tp)
    # A raw string is tried against the non-string members first, so `x=3` is 3 for `int | str`.
    members = sorted((a for a in args if a is not type(None)), key=lambda a: a is str)
    for member in members:
        try:
            return _coerce(value, member, name)
        except ConfigError:
            continue
    raise _type_error(name, value, tp)


def _coerce_sequence(value: Any, tp: Any, origin: Any, args: tuple[Any, ...], name: str) -> Any:
    if not isinstance(value, list | tuple):
        raise _type_error(name, value, tp, hint=" (write a YAML list such as [1, 2])")
    if origin is list:
        item_tp = args[0] if args else Any
        return [_coerce(v, item_tp, f"{name}[{i}]") for i, v in enumerate(value)]
    if not args or (len(args) == 2 and args[1] is Ellipsis):
        item_tp = args[0] if args else Any
        return tuple(_coerce(v, item_tp, f"{name}[{i}]") for i, v in enumerate(value))
    if len(value) != len(args):
        raise ConfigError(f"'{name}' = {value!r} must have exactly {len(args)} items ({_type_name(tp)})")
    return tuple(_coerce(v, a, f"{name}[{i}]") for i, (v, a) in enumerate(zip(value, args, strict=True)))


def _coerce_int(value: Any, name: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    # `1e6` is a string to PyYAML and 1000000.0 to Python: accept it when it is a whole number.
    number = _as_float(value)
    if number is not None and number.is_integer():
        return int(number)
    raise _type_error(name, value, int)


def _coerce_float(value: Any, name: str) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    # PyYAML reads `1e-3` (no dot) as a string; Python reads it as a float.
    number = _as_float(value)
    if number is not None:
        return number
    raise _type_error(name, value, float)


def _as_float(value: Any) -> float | None:
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _parse_yaml_scalar(value: str, name: str) -> Any:
    try:
        return yaml.safe_load(value) if value.strip() else None
    except yaml.YAMLError as error:
        raise ConfigError(f"'{name}' = {value!r} is not a valid YAML value: {error}") from error


def _type_error(name: str, value: Any, tp: Any, hint: str = "") -> ConfigError:
    return ConfigError(f"'{name}' = {value!r} ({type(value).__name__}) is not a valid {_type_name(tp)}{hint}")


def _type_name(tp: Any) -> str:
    if isinstance(tp, type) and not typing.get_args(tp):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _unknown_key_message(dotted: str, key: str, cls: type, source: str = "config") -> str:
    """Name the unknown key and the valid ones; a retired key (cls.RETIRED_KEYS) says what replaced it."""
    retired = getattr(cls, "RETIRED_KEYS", {})
    if key in retired:
        return f"'{dotted}' in {source} is no longer a setting of {cls.__name__}: {retired[key]}"
    valid = [f.name for f in dataclasses.fields(cls) if f.init]
    close = difflib.get_close_matches(key, valid, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return f"unknown key '{dotted}' in {source}{hint}; valid keys of {cls.__name__}: {', '.join(valid)}"


def _default_dict(field: dataclasses.Field) -> dict[str, Any]:
    if field.default_factory is not dataclasses.MISSING:
        default = field.default_factory()
    elif field.default is not dataclasses.MISSING:
        default = field.default
    else:
        return {}
    return dataclasses.asdict(default) if dataclasses.is_dataclass(default) else {}


def _deep_merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _section_type(tp: Any) -> type | None:
    """The dataclass of a section field typed `Section` or `Section | None` (else None)."""
    if _is_dataclass_type(tp):
        return tp
    args = [arg for arg in typing.get_args(tp) if arg is not type(None)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType) and len(args) == 1 and _is_dataclass_type(args[0]):
        return args[0]
    return None


def _is_dataclass_type(tp: Any) -> bool:
    return isinstance(tp, type) and dataclasses.is_dataclass(tp)


def _check_dataclass(cls: Any) -> None:
    if not _is_dataclass_type(cls):
        raise TypeError(f"expected a dataclass type, got {cls!r}")


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    # Anything else would make config.yaml unreadable by safe_load: fail at save time, not at resume.
    raise TypeError(f"config value {value!r} of type {type(value).__name__} cannot be saved; use JSON-like types")
