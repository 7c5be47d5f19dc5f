"""GLAM's `text_game` config: TextWorld envs of CandidatePrompts train, resume exactly and evaluate."""

import json

import pytest
import torch
from safetensors.torch import load_file

pytest.importorskip("textworld")  # a guard only: textworld is locked in requirements.lock for CI

from llmrl.envs.text_games import CandidatePrompt  # noqa: E402
from llmrl.presets import resolve_config  # noqa: E402
from llmrl.train import latest_checkpoint, load_config  # noqa: E402
from llmrl.train.glam import GlamConfig, build_envs, evaluate_run, train_glam  # noqa: E402
from llmrl.train.lm_policies import build_policy  # noqa: E402

SMALL = ["num_envs=2", "num_steps=4", "epochs=1", "minibatch_size=4", "checkpoint_every=1", "tensorboard=false"]


def config(tmp_path, *overrides: str) -> GlamConfig:
    return load_config(GlamConfig, resolve_config("glam/textworld-tiny"), [f"out_dir={tmp_path}", *SMALL, *overrides])


def test_textworld_envs_give_candidate_prompts_of_the_preset_games(tmp_path):
    cfg = config(tmp_path)
    envs = build_envs(cfg, build_policy(cfg))
    assert all(isinstance(o, CandidatePrompt) and "look" in o.candidates for o in envs.obs)
    assert all(env.unwrapped.game_seeds == [0, 1, 2, 3] for env in envs.envs)
    with pytest.raises(ValueError, match="variant"):
        config(tmp_path, "variant=synonyms")


def test_textworld_glam_run_resumes_to_the_weights_of_an_uninterrupted_run(tmp_path):
    full = train_glam(config(tmp_path, "total_frames=24", "name=full"))
    half = train_glam(config(tmp_path, "total_frames=16", "name=half"))
    train_glam(half.load_config(GlamConfig, ["total_frames=24"]), resume=half.path)
    want = load_file(latest_checkpoint(full.path) / "module.policy.safetensors")
    got = load_file(latest_checkpoint(half.path) / "module.policy.safetensors")
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    result = evaluate_run(full.path, episodes=2, num_envs=2)
    assert result.env_id == "textworld" and result.episodes == 2 and 0 <= result.success_rate <= 1


def test_eval_glam_cli_plays_a_text_game_run_on_its_game(tmp_path):
    from typer.testing import CliRunner

    from llmrl.cli import glam_commands  # noqa: F401  (registers the commands)
    from llmrl.cli.app import app

    run = train_glam(config(tmp_path, "total_frames=8"))
    runner = CliRunner()
    evaluated = runner.invoke(app, ["eval", "glam", "--run", str(run.path), "--episodes", "2"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(evaluated.output.strip().splitlines()[-1])
    assert result["env_id"] == "textworld" and result["episodes"] == 2
    refused = runner.invoke(app, ["eval", "glam", "--run", str(run.path), "--episodes", "2", "--variant", "nouns"])
    assert refused.exit_code == 1 and "plays textworld" in refused.output and "--variant" in refused.output
