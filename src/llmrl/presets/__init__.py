"""YAML presets shipped inside the package, one folder per algorithm: `<algo>/<name>.yaml`.

`--config` accepts either a path to a YAML file or a preset name, so an installed wheel
runs `llmrl train glam --config glam/cpu-demo` from any directory. `resolve_config`
turns what the user typed into a file path; `preset_names` lists what ships.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path


class PresetNotFoundError(FileNotFoundError):
    """`--config` named neither an existing file nor a shipped preset."""


def _root() -> Path:
    # The package is installed as plain files (wheel or editable), so the resource
    # folder is a real directory that YAML readers can open by path.
    return Path(str(resources.files(__name__)))


def preset_names(algo: str | None = None) -> list[str]:
    """Shipped presets as `algo/name`, sorted; only those of `algo` when given."""
    root = _root()
    folders = [root / algo] if algo is not None else sorted(p for p in root.iterdir() if p.is_dir())
    return sorted(f"{folder.name}/{path.stem}" for folder in folders if folder.is_dir()
                  for path in folder.glob("*.yaml"))


def resolve_config(value: str | Path, algo: str | None = None) -> Path:
    """The YAML file that `value` names: an existing path, `algo/name`, or (given `algo`) `name`.

    A trailing `.yaml` is optional on preset names. Raises `PresetNotFoundError` listing the
    presets that ship when `value` is none of these.
    """
    path = Path(value)
    if path.is_file():
        return path
    name = str(value).removesuffix(".yaml")
    candidates = [name] if "/" in name or algo is None else [f"{algo}/{name}", name]
    for candidate in candidates:
        preset = _root() / f"{candidate}.yaml"
        if preset.is_file():
            return preset
    shipped = ", ".join(preset_names(algo)) or "none"
    raise PresetNotFoundError(f"config {str(value)!r} is neither a YAML file nor a preset; "
                              f"shipped presets{f' for {algo}' if algo else ''}: {shipped}")
