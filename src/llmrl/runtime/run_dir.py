"""Run directories: everything one training run writes, in one place.

```
runs/<algo>/<name>-<YYYYmmdd-HHMMSS>[-n]/
  config.yaml    the resolved config (YAML preset + overrides), loadable with `load_config`
  run.json       algo, name, creation time, command line, host (CPU model, Python, torch)
  metrics.csv    one row per logged update (see `MetricsLogger`)
  tb/            TensorBoard event files
  checkpoints/   step-<step>/ directories and a `latest` pointer (see `save_checkpoint`)
```
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from llmrl.lm.precision import cpu_model
from llmrl.runtime.config import load_config, save_config

T = TypeVar("T")

_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class NotARunDirError(FileNotFoundError):
    """A path that is not a run directory written by `RunDir.create`."""


@dataclass(frozen=True)
class RunDir:
    """A run directory; create one with `RunDir.create`, reopen one with `RunDir.open`."""

    path: Path

    @classmethod
    def create(
        cls,
        root: str | Path = "runs",
        algo: str = "glam",
        name: str | None = None,
        config: Any = None,
        config_path: str | Path | None = None,
    ) -> RunDir:
        """Make `<root>/<algo>/<name>-<timestamp>[-n]/` and write `config` (a dataclass) into it.

        `name` defaults to the stem of `config_path` (the YAML preset), else "run". A
        `-1`, `-2`, ... suffix keeps two runs started in the same second apart.
        """
        if name is None:
            name = Path(config_path).stem if config_path is not None else "run"
        for label, value in (("algo", algo), ("name", name)):
            if not _SAFE_NAME.match(value):
                raise ValueError(
                    f"run {label} {value!r} must be letters, digits, '.', '_' or '-' (no spaces or slashes)"
                )
        parent = Path(root) / algo
        parent.mkdir(parents=True, exist_ok=True)
        stem = f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"
        for n in range(1000):
            path = parent / (stem if n == 0 else f"{stem}-{n}")
            try:
                path.mkdir()  # atomic: two runs never get the same directory
                break
            except FileExistsError:
                continue
        else:
            raise RuntimeError(f"could not find a free run directory name under {parent} for {stem}")
        run = cls(path)
        run.checkpoints_dir.mkdir()
        run.tb_dir.mkdir()
        meta = {"algo": algo, "name": name, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "argv": sys.argv,
                "host": host_info()}
        (path / "run.json").write_text(json.dumps(meta, indent=2) + "\n")
        if config is not None:
            save_config(config, run.config_path)
        return run

    @classmethod
    def open(cls, path: str | Path) -> RunDir:
        """Reopen an existing run directory (for resume or evaluation)."""
        path = Path(path)
        if not path.is_dir():
            raise NotARunDirError(f"run directory not found: {path}")
        if not (path / "run.json").is_file():
            raise NotARunDirError(
                f"{path} is not a run directory (no run.json); run directories are made by `llmrl train` "
                "and look like runs/<algo>/<name>-<timestamp>/"
            )
        return cls(path)

    @property
    def config_path(self) -> Path:
        return self.path / "config.yaml"

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.csv"

    @property
    def tb_dir(self) -> Path:
        return self.path / "tb"

    @property
    def checkpoints_dir(self) -> Path:
        return self.path / "checkpoints"

    @property
    def meta(self) -> dict[str, Any]:
        """The contents of run.json (algo, name, created, argv)."""
        return json.loads((self.path / "run.json").read_text())

    def load_config(self, cls: type[T], overrides: list[str] | tuple[str, ...] = ()) -> T:
        """The run's resolved config as dataclass `cls` (overrides applied on top, e.g. for evaluation)."""
        if not self.config_path.is_file():
            raise NotARunDirError(f"{self.path} has no config.yaml")
        return load_config(cls, self.config_path, overrides)

    def __str__(self) -> str:
        return str(self.path)


def host_info() -> dict[str, str]:
    """What a measurement depends on: CPU model (as `lscpu` names it), core count, Python, torch."""
    cpu = cpu_model() or platform.processor() or platform.machine()
    return {"cpu": cpu, "cpus": str(os.cpu_count()), "python": platform.python_version(),
            "torch": importlib.metadata.version("torch")}
