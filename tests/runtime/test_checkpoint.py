"""Checkpoints: exact resume, atomic layout, tied weights, retention, and the errors."""

import json
import random

import numpy as np
import pytest
import torch
from torch import nn

from llmrl.runtime.checkpoint import (
    CheckpointError,
    checkpoint_step,
    latest_checkpoint,
    load_arrays,
    load_checkpoint,
    save_checkpoint,
)
from llmrl.runtime.guard import TrainingDiverged
from llmrl.runtime.run_dir import RunDir


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make(seed: int) -> tuple[nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1))
    return model, torch.optim.Adam(model.parameters(), lr=1e-2)


DATA_X = torch.randn(256, 8, generator=torch.Generator().manual_seed(0))
DATA_Y = DATA_X.sum(dim=1, keepdim=True)


def train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: int) -> None:
    """Every source of randomness a trainer uses: torch (dropout, minibatches), numpy and python."""
    model.train()
    for _ in range(steps):
        index = torch.randint(0, len(DATA_X), (16,))
        noise = float(np.random.normal()) * 1e-3 + random.random() * 1e-3
        loss = ((model(DATA_X[index]) - DATA_Y[index]) ** 2).mean() + noise
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def test_resumed_training_is_bit_identical(tmp_path):
    k = 50
    seed_all(0)
    model, optimizer = make(0)
    train(model, optimizer, 2 * k)
    straight = [p.detach().clone() for p in model.parameters()]

    seed_all(0)
    model, optimizer = make(0)
    train(model, optimizer, k)
    run = RunDir.create(root=tmp_path, algo="test")
    save_checkpoint(run, k, modules={"policy": model}, optimizers={"adam": optimizer}, extra={"updates": k})

    # A fresh "process": other initial weights, a fresh optimizer, other RNG states.
    seed_all(123)
    model, optimizer = make(1)
    train(model, optimizer, 3)
    model, optimizer = make(2)
    extra = load_checkpoint(run.path, modules={"policy": model}, optimizers={"adam": optimizer})
    assert extra == {"updates": k}
    train(model, optimizer, k)
    resumed = list(model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(straight, resumed, strict=True))


class Tied(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.head = nn.Linear(4, 10, bias=False)
        self.head.weight = self.embed.weight  # tied, as in SmolLM2


def test_tied_weights_are_saved_once_and_stay_tied(tmp_path):
    model = Tied()
    path = save_checkpoint(tmp_path, 0, modules={"lm": model}, rng=False)
    fresh = Tied()
    load_checkpoint(path, modules={"lm": fresh}, rng=False)
    assert torch.equal(fresh.embed.weight, model.embed.weight)
    assert fresh.head.weight is fresh.embed.weight


def test_layout_latest_retention_and_resave(tmp_path):
    model = nn.Linear(2, 2)
    for step in (10, 20, 30, 40):
        save_checkpoint(tmp_path, step, modules={"m": model}, extra={"step": step}, keep_last=2)
    root = tmp_path / "checkpoints"
    assert sorted(p.name for p in root.iterdir()) == ["latest", "step-0000000030", "step-0000000040"]
    assert (root / "latest").read_text().strip() == "step-0000000040"
    assert checkpoint_step(tmp_path) == 40
    assert json.loads((root / "step-0000000040" / "meta.json").read_text())["modules"] == ["m"]
    # Resuming from step 30 and saving it again drops the abandoned step 40.
    save_checkpoint(tmp_path, 30, modules={"m": model}, keep_last=2)
    assert latest_checkpoint(tmp_path).name == "step-0000000030"
    assert not (root / "step-0000000040").exists()
    assert not list(root.glob(".tmp-*"))


def test_crashed_save_leaves_previous_checkpoint(tmp_path):
    model = nn.Linear(2, 2)
    save_checkpoint(tmp_path, 1, modules={"m": model})

    class Broken(nn.Module):
        def state_dict(self, *args, **kwargs):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        save_checkpoint(tmp_path, 2, modules={"m": model, "broken": Broken()})
    assert latest_checkpoint(tmp_path).name == "step-0000000001"
    save_checkpoint(tmp_path, 2, modules={"m": model})  # the stale temp dir is cleaned up
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))


def test_state_dict_fn_and_load_fn_hooks(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    trainable = lambda name, module: {k: v for k, v in module.state_dict().items() if k.startswith("1.")}  # noqa: E731
    path = save_checkpoint(tmp_path, 5, modules={"m": model}, state_dict_fn=trainable, rng=False)
    fresh = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    seen = {}
    load_checkpoint(path, modules={"m": fresh}, rng=False, load_fn=lambda n, m, sd: seen.update(sd))
    assert sorted(seen) == ["1.bias", "1.weight"]
    with pytest.raises(CheckpointError, match="module 'm' does not match"):
        load_checkpoint(path, modules={"m": fresh}, rng=False)
    load_checkpoint(path, modules={"m": fresh}, rng=False, strict=False)
    assert torch.equal(fresh[1].weight, model[1].weight)


def test_errors(tmp_path):
    model = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="JSON-serializable"):
        save_checkpoint(tmp_path, 1, modules={"m": model}, extra={"x": object()})
    with pytest.raises(ValueError, match="JSON-serializable with finite numbers"):
        save_checkpoint(tmp_path, 1, modules={"m": model}, extra={"x": float("nan")})
    with pytest.raises(ValueError, match="non-negative int"):
        save_checkpoint(tmp_path, -1, modules={"m": model})
    with pytest.raises(ValueError, match="names a file"):
        save_checkpoint(tmp_path, 1, modules={"a/b": model})
    with pytest.raises(CheckpointError, match="no checkpoint found"):
        load_checkpoint(tmp_path, modules={"m": model})
    path = save_checkpoint(tmp_path, 1, modules={"m": model}, rng=False)
    with pytest.raises(CheckpointError, match=r"has no modules \['value'\]; it holds modules: \['m'\]"):
        load_checkpoint(path, modules={"value": model}, rng=False)
    with pytest.raises(CheckpointError, match="saved without RNG states"):
        load_checkpoint(path, modules={"m": model})


def test_latest_checkpoint_accepts_a_run_dir_object(tmp_path):
    run = RunDir.create(tmp_path, "test", "run")
    assert latest_checkpoint(run) is None
    save_checkpoint(run, 5, modules={"m": nn.Linear(2, 2)})
    assert latest_checkpoint(run) == latest_checkpoint(run.path) == run.path / "checkpoints" / "step-0000000005"


def test_arrays_travel_inside_the_one_atomic_checkpoint(tmp_path):
    replay = {"obs": np.arange(12, dtype=np.int64).reshape(3, 4), "reward": np.array([0.5, -1.0], np.float32),
              "done": np.array([True, False])}
    path = save_checkpoint(tmp_path, 3, modules={"m": nn.Linear(2, 2)}, arrays={"replay": replay})
    loaded = load_arrays(tmp_path, "replay")
    assert loaded.keys() == replay.keys()
    for key, value in replay.items():
        assert loaded[key].dtype == value.dtype and np.array_equal(loaded[key], value)
    assert json.loads((path / "meta.json").read_text())["arrays"] == ["replay"]
    with pytest.raises(CheckpointError, match=r"has no arrays 'goals'; it holds arrays: \['replay'\]"):
        load_arrays(path, "goals")
    with pytest.raises(ValueError, match="would overwrite a checkpoint file"):
        save_checkpoint(tmp_path, 4, modules={"m": nn.Linear(2, 2)}, arrays={"module.m": replay})


def test_nothing_is_pickled_and_earlier_pt_checkpoints_still_load(tmp_path):
    model, optimizer = make(0)
    train(model, optimizer, 2)
    path = save_checkpoint(tmp_path, 2, modules={"m": model}, optimizers={"adam": optimizer})
    assert {f.suffix for f in path.iterdir()} == {".json", ".safetensors"}
    fresh, fresh_optimizer = make(1)
    load_checkpoint(path, modules={"m": fresh}, optimizers={"adam": fresh_optimizer})
    assert str(fresh_optimizer.state_dict()) == str(optimizer.state_dict())
    # A checkpoint of an earlier version: optimizer and RNG states as torch.save files.
    torch.save(optimizer.state_dict(), path / "optim.adam.pt")
    (path / "optim.adam.safetensors").unlink()
    fresh, fresh_optimizer = make(1)
    load_checkpoint(path, modules={"m": fresh}, optimizers={"adam": fresh_optimizer})
    assert str(fresh_optimizer.state_dict()) == str(optimizer.state_dict())


def test_non_finite_weights_never_replace_the_last_good_checkpoint(tmp_path):
    model = nn.Linear(2, 2)
    good = save_checkpoint(tmp_path, 1, modules={"m": model})
    with torch.no_grad():
        model.weight[0, 0] = float("inf")
    with pytest.raises(TrainingDiverged, match=f"weights of 'm'.*weight=.*1 inf.*kept at {good}"):
        save_checkpoint(tmp_path, 2, modules={"m": model})
    assert latest_checkpoint(tmp_path) == good
    assert not list((tmp_path / "checkpoints").glob(".tmp-*"))
