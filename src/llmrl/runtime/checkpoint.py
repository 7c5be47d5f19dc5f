"""Atomic, exact checkpoints: weights (safetensors), optimizer state, RNG states, counters.

```
checkpoints/
  step-0000001234/
    meta.json                 step, what was saved
    extra.json                the trainer's counters (updates, frames, episodes, ...)
    module.<name>.safetensors one per module (tied weights stored once)
    optim.<name>.safetensors  one per optimizer: its tensors, the rest of its state as JSON metadata
    <name>.safetensors        one per group of plain arrays (a replay buffer), read with `load_arrays`
    rng.safetensors           python `random`, numpy global, torch CPU (+ CUDA) states
  latest                      the name of the newest complete checkpoint
```
A checkpoint is written into a temporary directory next to its final place, fsynced,
then renamed: a crash mid-save leaves the previous checkpoints and `latest` untouched.
Nothing is pickled: tensors go to safetensors and everything else to JSON (checkpoints of
earlier versions, with `optim.<name>.pt` and `rng.pt`, load with `torch.load(weights_only=True)`).
Everything a resume reads belongs in that one directory, so a trainer passes all of its
state (weights, optimizers, arrays such as a replay buffer, JSON counters) to one call.
Restoring weights, optimizer and RNG states makes a resumed run bit-identical to an
uninterrupted one (on the same device and versions).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import numpy as np
import torch
from safetensors import numpy as safetensors_numpy
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from llmrl.runtime.guard import check_finite
from llmrl.runtime.run_dir import RunDir

T = TypeVar("T")
M = TypeVar("M", bound=nn.Module)
StateDictFn = Callable[[str, nn.Module], Mapping[str, torch.Tensor]]
LoadFn = Callable[[str, nn.Module, dict[str, torch.Tensor]], None]

_STEP_DIR = re.compile(r"^step-(\d+)$")
_LATEST = "latest"
_RESERVED = ("module", "optim", "rng", "extra", "meta")


class Stateful(Protocol):
    """An optimizer, LR scheduler, GradScaler: anything with state_dict / load_state_dict."""

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...


class CheckpointError(RuntimeError):
    """A checkpoint that is missing, incomplete, or does not match what it is loaded into."""


def save_checkpoint(
    run_dir: RunDir | str | Path,
    step: int,
    *,
    modules: Mapping[str, nn.Module],
    optimizers: Mapping[str, Stateful] | None = None,
    extra: Mapping[str, Any] | None = None,
    arrays: Mapping[str, Mapping[str, np.ndarray]] | None = None,
    rng: bool = True,
    keep_last: int = 3,
    state_dict_fn: StateDictFn | None = None,
) -> Path:
    """Save a checkpoint of `step` under `<run_dir>/checkpoints/` atomically; return its path.

    `extra` holds JSON-serializable counters returned by `load_checkpoint`; `arrays` groups of
    numpy arrays (e.g. {"replay": buffer.state_dict()}), each read back by `load_arrays`. `state_dict_fn`
    (name, module) -> tensors chooses what to save per module (default `module.state_dict()`;
    e.g. only a PEFT model's adapters and heads). Only the newest `keep_last` checkpoints
    are kept (0 keeps all); checkpoints past `step`, left by the run before a resume from an
    earlier one, are removed.
    """
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise ValueError(f"step must be a non-negative int, got {step!r}")
    if keep_last < 0:
        raise ValueError(f"keep_last must be >= 0 (0 keeps every checkpoint), got {keep_last}")
    _check_names("modules", modules)
    _check_names("optimizers", optimizers or {})
    _check_names("arrays", arrays or {})
    reserved = [name for name in arrays or {} if name.split(".")[0] in _RESERVED]
    if reserved:
        raise ValueError(f"arrays names {reserved} would overwrite a checkpoint file; reserved: {_RESERVED}")
    extra = dict(extra or {})
    try:
        extra_json = json.dumps(extra, indent=2, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"extra must be JSON-serializable with finite numbers: {error}") from error

    root = _checkpoints_dir(run_dir)
    states = {name: state_dict_fn(name, module) if state_dict_fn is not None else module.state_dict()
              for name, module in modules.items()}
    for name, state in states.items():
        # Weights a finite gradient pushed past the float range (a learning rate far too high)
        # must not replace the last good checkpoint either. Parameterless modules carry other state.
        if next(modules[name].parameters(), None) is not None:
            floats = {k: v for k, v in state.items() if isinstance(v, torch.Tensor) and v.is_floating_point()}
            check_finite(f"weights of {name!r}", floats, step=step, checkpoint=latest_checkpoint(root))
    root.mkdir(parents=True, exist_ok=True)
    for stale in root.glob(".tmp-*"):  # left by a save that crashed
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    final = root / f"step-{step:010d}"
    tmp = root / f".tmp-{final.name}-{os.getpid()}"
    tmp.mkdir()

    for name, state in states.items():
        tensors, aliases = _dedupe_shared(state)
        save_file(tensors, str(tmp / f"module.{name}.safetensors"), metadata={"aliases": json.dumps(aliases)})
    for name, optimizer in (optimizers or {}).items():
        _save_tree(optimizer.state_dict(), tmp / f"optim.{name}.safetensors")
    for name, group in (arrays or {}).items():
        safetensors_numpy.save_file({k: np.ascontiguousarray(v) for k, v in group.items()},
                                    str(tmp / f"{name}.safetensors"))
    if rng:
        _save_tree(_rng_state(), tmp / "rng.safetensors")
    (tmp / "extra.json").write_text(extra_json + "\n")
    meta = {
        "step": step,
        "modules": list(modules),
        "optimizers": list(optimizers or {}),
        "arrays": list(arrays or {}),
        "rng": rng,
        "saved": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "torch": torch.__version__,
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    for file in tmp.iterdir():
        _fsync_file(file)
    _fsync_dir(tmp)

    if final.exists():  # saving a step again (e.g. after a resume): swap it out, never half-replace
        old = root / f".tmp-old-{final.name}-{os.getpid()}"
        os.replace(final, old)
        os.replace(tmp, final)
        shutil.rmtree(old)
    else:
        os.replace(tmp, final)
    _atomic_write_text(root / _LATEST, final.name + "\n")
    _fsync_dir(root)
    # Checkpoints past `step` belong to the timeline abandoned by resuming from an earlier one.
    kept = [p for p in _list_checkpoints(root) if _step_of(p) <= step]
    for path in _list_checkpoints(root):
        if path not in kept or (keep_last and path in kept[:-keep_last]):
            shutil.rmtree(path)
    return final


def load_checkpoint(
    path: str | Path,
    *,
    modules: Mapping[str, nn.Module] | None = None,
    optimizers: Mapping[str, Stateful] | None = None,
    rng: bool = True,
    strict: bool = True,
    load_fn: LoadFn | None = None,
) -> dict[str, Any]:
    """Restore a checkpoint into `modules` and `optimizers` (and the global RNGs); return `extra`.

    `path` is a checkpoint directory, or a run directory / its `checkpoints/` folder (then the
    `latest` checkpoint). Every module and optimizer passed must be in the checkpoint. `load_fn`
    (name, module, tensors) replaces `module.load_state_dict(tensors, strict=strict)`, e.g. to
    load PEFT adapters with `set_peft_model_state_dict`.
    """
    path = resolve_checkpoint(path)
    meta = json.loads((path / "meta.json").read_text())
    for kind, given in (("modules", modules or {}), ("optimizers", optimizers or {})):
        missing = [name for name in given if name not in meta[kind]]
        if missing:
            raise CheckpointError(f"{path} has no {kind} {missing}; it holds {kind}: {meta[kind]}")
    for name, module in (modules or {}).items():
        file = path / f"module.{name}.safetensors"
        state = _load_with_aliases(file)
        if load_fn is not None:
            load_fn(name, module, state)
        else:
            try:
                module.load_state_dict(state, strict=strict)
            except RuntimeError as error:
                raise CheckpointError(f"module {name!r} does not match {file}: {error}") from error
    for name, optimizer in (optimizers or {}).items():
        state = _load_tree(path / f"optim.{name}")
        # JSON keys are strings; an optimizer's state is keyed by parameter index.
        state["state"] = {int(k): v for k, v in state["state"].items()}
        optimizer.load_state_dict(state)
    if rng:
        if not meta["rng"]:
            raise CheckpointError(f"{path} was saved without RNG states; load it with rng=False")
        _set_rng_state(_load_tree(path / "rng"))
    return json.loads((path / "extra.json").read_text())


def load_run_module(run_dir: str | Path, config_cls: type[T], build: Callable[[T], M], *,
                    overrides: Sequence[str] = (), name: str = "policy") -> tuple[T, M]:
    """(config, module) of a run's latest checkpoint, for evaluation: the run's config (with
    `overrides`) as `config_cls`, and `build(config)` with the weights saved as module `name`."""
    cfg = RunDir.open(run_dir).load_config(config_cls, list(overrides))
    module = build(cfg)
    load_checkpoint(run_dir, modules={name: module}, rng=False)
    return cfg, module


def load_arrays(path: str | Path, name: str) -> dict[str, np.ndarray]:
    """The group of arrays `name` saved by `save_checkpoint(arrays=...)` in a checkpoint (see `load_checkpoint`)."""
    path = resolve_checkpoint(path)
    file = path / f"{name}.safetensors"
    if not file.is_file():
        saved = json.loads((path / "meta.json").read_text()).get("arrays", [])
        raise CheckpointError(f"{path} has no arrays {name!r}; it holds arrays: {saved}")
    return safetensors_numpy.load_file(str(file))


def resolve_checkpoint(path: str | Path) -> Path:
    """A checkpoint directory from itself, a run directory or a `checkpoints/` folder (via `latest`)."""
    path = Path(path)
    if (path / "meta.json").is_file():
        return path
    root = path / "checkpoints" if (path / "checkpoints").is_dir() else path
    found = latest_checkpoint(root)
    if found is None:
        raise CheckpointError(
            f"no checkpoint found at {path} (expected a step-*/ directory or a run directory with one)"
        )
    return found


def latest_checkpoint(run_dir: RunDir | str | Path) -> Path | None:
    """The newest complete checkpoint of a run (or of a `checkpoints/` folder), or None."""
    # A RunDir is not path-like: take its checkpoints folder before any Path() conversion.
    root = run_dir.checkpoints_dir if isinstance(run_dir, RunDir) else Path(run_dir)
    if (root / "checkpoints").is_dir():
        root = root / "checkpoints"
    pointer = root / _LATEST
    if pointer.is_file():
        candidate = root / pointer.read_text().strip()
        if (candidate / "meta.json").is_file():
            return candidate
    found = _list_checkpoints(root)
    return found[-1] if found else None


def checkpoint_step(path: str | Path) -> int:
    """The step a checkpoint was saved at."""
    return int(json.loads((resolve_checkpoint(path) / "meta.json").read_text())["step"])


def _checkpoints_dir(run_dir: RunDir | str | Path) -> Path:
    return run_dir.checkpoints_dir if isinstance(run_dir, RunDir) else Path(run_dir) / "checkpoints"


def _list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if _STEP_DIR.match(p.name) and (p / "meta.json").is_file()]
    return sorted(found, key=_step_of)


def _step_of(path: Path) -> int:
    return int(_STEP_DIR.match(path.name).group(1))


def _check_names(kind: str, items: Mapping[str, Any]) -> None:
    for name in items:
        if not isinstance(name, str) or not re.match(r"^[A-Za-z0-9_.-]+$", name):
            raise ValueError(f"{kind} name {name!r} must be letters, digits, '_', '.' or '-' (it names a file)")


def _dedupe_shared(state: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors safetensors can write, plus {alias: saved name} for tied weights.

    safetensors refuses tensors sharing memory. Identical views (tied embeddings) are saved
    once and re-linked on load; partial overlaps are copied.
    """
    tensors: dict[str, torch.Tensor] = {}
    aliases: dict[str, str] = {}
    views: dict[tuple[Any, ...], str] = {}
    storages: set[tuple[Any, ...]] = set()
    for name, tensor in state.items():
        if not isinstance(tensor, torch.Tensor):
            raise TypeError(f"state entry {name!r} is a {type(tensor).__name__}, not a tensor")
        tensor = tensor.detach()
        if tensor.numel() == 0:
            tensors[name] = tensor.clone()
            continue
        storage = (tensor.device, tensor.untyped_storage().data_ptr())
        view = (*storage, tensor.storage_offset(), tuple(tensor.shape), tensor.stride(), tensor.dtype)
        if view in views:
            aliases[name] = views[view]
            continue
        views[view] = name
        shared = storage in storages
        storages.add(storage)
        tensors[name] = tensor.clone() if shared or not tensor.is_contiguous() else tensor
    return tensors, aliases


def _load_with_aliases(file: Path) -> dict[str, torch.Tensor]:
    if not file.is_file():
        raise CheckpointError(f"checkpoint file missing: {file}")
    state = load_file(str(file))
    with safe_open(str(file), framework="pt") as f:
        aliases = json.loads((f.metadata() or {}).get("aliases", "{}"))
    for alias, name in aliases.items():
        state[alias] = state[name]
    return state


def split_state(tree: Any, prefix: str) -> tuple[dict[str, torch.Tensor], Any]:
    """Split a state tree into its tensors/arrays (flat, by dotted path) and a JSON skeleton.

    Each tensor leaf becomes `{"__tensor__": path, "numpy": bool}` in the skeleton, so that
    `join_state` puts back the same type; a tuple becomes `{"__tuple__": [...]}`. Mapping keys
    become strings.
    """
    tensors: dict[str, torch.Tensor] = {}

    def walk(node: Any, path: str) -> Any:
        if isinstance(node, torch.Tensor | np.ndarray):
            is_numpy = isinstance(node, np.ndarray)
            tensors[path] = (
                torch.from_numpy(np.ascontiguousarray(node)) if is_numpy else node.detach().cpu().contiguous()
            )
            return {"__tensor__": path, "numpy": is_numpy}
        if isinstance(node, Mapping):
            return {str(k): walk(v, f"{path}.{k}") for k, v in node.items()}
        if isinstance(node, list | tuple):
            items = [walk(v, f"{path}.{i}") for i, v in enumerate(node)]
            return {"__tuple__": items} if isinstance(node, tuple) else items
        return node

    return tensors, walk(tree, prefix)


def join_state(skeleton: Any, tensors: Mapping[str, torch.Tensor]) -> Any:
    """Inverse of `split_state`."""
    if isinstance(skeleton, dict):
        if "__tensor__" in skeleton:
            tensor = tensors[skeleton["__tensor__"]]
            return tensor.numpy() if skeleton["numpy"] else tensor
        if "__tuple__" in skeleton:
            return tuple(join_state(v, tensors) for v in skeleton["__tuple__"])
        return {k: join_state(v, tensors) for k, v in skeleton.items()}
    if isinstance(skeleton, list):
        return [join_state(v, tensors) for v in skeleton]
    return skeleton


def _save_tree(tree: Any, file: Path) -> None:
    """A state tree (an optimizer's, the RNGs') as safetensors, its non-tensor part as JSON metadata."""
    tensors, skeleton = split_state(tree, "state")
    save_file(tensors, str(file), metadata={"tree": json.dumps(skeleton)})


def _load_tree(stem: Path) -> Any:
    """The tree `_save_tree` wrote to `<stem>.safetensors`, or an earlier version's `<stem>.pt`."""
    file = stem.with_name(stem.name + ".safetensors")
    if file.is_file():
        with safe_open(str(file), framework="pt") as f:
            skeleton = json.loads(f.metadata()["tree"])
        return join_state(skeleton, load_file(str(file)))
    legacy = stem.with_name(stem.name + ".pt")
    if legacy.is_file():
        return torch.load(legacy, map_location="cpu", weights_only=True)
    raise CheckpointError(f"checkpoint file missing: {file}")


def _rng_state() -> dict[str, Any]:
    """Global RNG states as tensors, ints and floats (JSON and safetensors hold them)."""
    version, internal, gauss = random.getstate()
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": {"version": version, "state": list(internal), "gauss": gauss},
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    py = state["python"]
    random.setstate((py["version"], tuple(py["state"]), py["gauss"]))
    npy = state["numpy"]
    keys = npy["keys"].numpy().astype(np.uint32)
    np.random.set_state((npy["kind"], keys, npy["pos"], npy["has_gauss"], npy["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        if len(state["cuda"]) != torch.cuda.device_count():
            raise CheckpointError(
                f"checkpoint has CUDA RNG states for {len(state['cuda'])} devices, "
                f"this machine has {torch.cuda.device_count()}; load with rng=False to skip them"
            )
        torch.cuda.set_rng_state_all(state["cuda"])


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    with tmp.open("w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _fsync_file(path: Path) -> None:
    with path.open("rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
