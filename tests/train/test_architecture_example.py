"""The PPO-baseline example of docs/architecture.md trains, resumes, and is evaluated through the registry."""

import re
import sys
import types
from pathlib import Path

import torch

from llmrl import registry
from llmrl.eval.compare import evaluate_run
from llmrl.train import latest_checkpoint

DOC = Path(__file__).resolve().parents[2] / "docs" / "architecture.md"


def _blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)


def test_the_documented_baseline_is_one_module_and_one_registry_line(tmp_path, monkeypatch):
    module_code, entry_code = _blocks()
    module = types.ModuleType("llmrl.train.bow_ppo")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(module_code, str(DOC), "exec"), module.__dict__)  # noqa: S102  (our own documentation)
    entry = eval(entry_code.strip().rstrip(","), vars(registry))  # noqa: S307
    monkeypatch.setitem(registry.ALGORITHMS, entry.name, entry)
    monkeypatch.setattr("llmrl.eval.compare.ALGOS", (*registry.ALGORITHMS,))

    settings = dict(env_id="BabyAIText-GoTo-v0", room_size=5, num_dists=1, num_envs=2, num_steps=4, epochs=1,
                    minibatch_size=4, vocab=64, hidden=8, checkpoint_every=1, out_dir=str(tmp_path),
                    tensorboard=False)
    full = entry.train(entry.config(**settings, total_frames=24, name="full"))
    half = entry.train(entry.config(**settings, total_frames=16, name="half"))
    entry.train(half.load_config(entry.config, ["total_frames=24"]), resume=half.path)
    from safetensors.torch import load_file

    want = load_file(latest_checkpoint(full.path) / "module.policy.safetensors")
    got = load_file(latest_checkpoint(half.path) / "module.policy.safetensors")
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    result = evaluate_run(full.path, episodes=2, num_envs=2)
    assert result.episodes == 2 and result.env_id == "BabyAIText-GoTo-v0"
