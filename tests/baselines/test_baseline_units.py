"""Unit tests of the baselines' pieces: networks, configs, trajectories, resume, comparison table, CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from llmrl.agents.drrn import DRRN, WordTokenizer
from llmrl.agents.npae import NPAEPolicy, randomly_initialized
from llmrl.agents.symbolic import SymbolicPolicy
from llmrl.envs.babyai_text import ACTIONS, ExpertStep
from llmrl.eval.compare import compare_runs, frames_to_threshold, success_at_budget, write_comparison
from llmrl.eval.plots import read_run
from llmrl.lm import tiny_random_lm
from llmrl.presets import preset_names, resolve_config
from llmrl.train import ConfigError, RunDir, latest_checkpoint, load_config
from llmrl.train.bc import BCConfig, demonstrations, read_trajectories, write_trajectories
from llmrl.train.drrn import DRRNConfig, train_drrn
from llmrl.train.npae import NPAEConfig
from llmrl.train.symbolic_ppo import SymbolicPPOConfig, make_symbolic_env, train_symbolic_ppo

TINY_ENV = {"env_id": "BabyAIText-GoTo-v0", "room_size": 5, "num_dists": 1}


def test_word_tokenizer_keeps_the_last_words_and_pads():
    tok = WordTokenizer(max_words=3)
    ids = tok(["go to the red ball", "wall"])
    assert ids.shape == (2, 3)
    assert (ids[0] != tok.pad_id).all()  # the last three words fill the row
    assert ids[1, 0] != tok.pad_id and (ids[1, 1:] == tok.pad_id).all()
    np.testing.assert_array_equal(tok(["the red ball"])[0], ids[0])


def test_drrn_scores_every_action_text_and_accepts_renamed_actions():
    net = DRRN(ACTIONS, hidden=16, max_words=16)
    q = net.q_values({"state": torch.from_numpy(net.encode_states(["go to the red ball", "you see a wall"]))})
    assert q.shape == (2, len(ACTIONS))
    net.action_names = ("turn left", "go forward", "pick up")
    actions, logp, _ = net.act(["go to the red ball"], torch.Generator().manual_seed(0))
    assert net.q_values({"state": torch.from_numpy(net.encode_states(["x"]))}).shape == (1, 3)
    assert 0 <= int(actions[0]) < 3 and float(logp[0]) <= 0
    greedy, greedy_logp, _ = net.act(["go to the red ball"], None, temperature=0)
    assert float(greedy_logp[0]) == 0.0
    net.temperature = 0  # what an evaluator (which passes no temperature) samples at
    assert torch.equal(net.act(["go to the red ball"], None)[0], greedy)
    with pytest.raises(ValueError, match="temperature must be >= 0"):
        net.temperature = -1
    with pytest.raises(ValueError, match="at least two"):
        net.action_names = ("only one",)


def test_symbolic_policy_acts_on_minigrid_observations():
    env = make_symbolic_env(SymbolicPPOConfig(**TINY_ENV))
    obs, _ = env.reset(seed=3)
    policy = SymbolicPolicy(channels=8, mission_hidden=16)
    actions, logp, values = policy.act([obs, obs], torch.Generator().manual_seed(0))
    assert actions.shape == logp.shape == values.shape == (2,)
    new_logp, entropy, _ = policy.evaluate([obs, obs], actions)
    torch.testing.assert_close(new_logp.detach(), logp)
    # Near-uniform start: the entropy is close to log(6).
    assert float(entropy.detach().mean()) > math.log(6) - 0.05
    with pytest.raises(TypeError, match="minigrid dicts"):
        policy.act(["a prompt string"], None)


def test_npae_body_is_random_and_heads_give_one_logit_per_action():
    lm = tiny_random_lm("llama", seed=0, hidden_size=32, num_layers=1)
    fresh = randomly_initialized(lm, seed=1)
    weights = dict(lm.model.named_parameters())
    assert any(not torch.equal(p, weights[name]) for name, p in fresh.model.named_parameters())
    policy = NPAEPolicy(fresh, ACTIONS, inner=16)
    logits, values = policy(["Goal of the agent: go to the red ball \n Action 0: "] * 2)
    assert logits.shape == (2, 6) and values.shape == (2,)
    # The batched, right-padded, deduplicated body pass reads the hidden state GLAM's scorer reads.
    prompts = ["Goal of the agent: go to the red ball \n Action 0: ", "Goal: go \n Action 0: ",
               "Goal of the agent: go to the red ball \n Action 0: "]
    _, scorer_hidden = fresh.score(prompts, [["go"]] * 3, return_hidden=True)
    with torch.no_grad():
        torch.testing.assert_close(policy.prompt_hidden(prompts), scorer_hidden)
        torch.testing.assert_close(policy(prompts)[0][0], policy(prompts[:1])[0][0])
    logp, entropy, _ = policy.evaluate(["go to the red ball"], torch.tensor([2]))
    logp.sum().backward()
    assert policy.body.get_input_embeddings().weight.grad is not None  # the body is trained too


@pytest.mark.parametrize(
    ("cls", "override", "message"),
    [
        (SymbolicPPOConfig, "num_envs=0", "num_envs must be >= 1"),
        (SymbolicPPOConfig, "env_id=CartPole-v1", "env_id must be one of"),
        (DRRNConfig, "gamma=1.5", "gamma"),
        (DRRNConfig, "eval_temperature=-0.1", "eval_temperature"),
        (NPAEConfig, "lora=true", "lora must be false"),
        (NPAEConfig, "text_game={env: textworld}", "text_game must be null for NPAE"),
        (BCConfig, "source=demos.txt", "source must be 'expert' or a .jsonl"),
    ],
)
def test_baseline_configs_reject_bad_values(cls, override, message):
    with pytest.raises(ConfigError, match=message):
        load_config(cls, None, [override])


def test_shipped_baseline_presets_load():
    configs = {"symbolic-ppo": SymbolicPPOConfig, "drrn": DRRNConfig, "npae": NPAEConfig, "bc": BCConfig}
    for algo, cls in configs.items():
        presets = preset_names(algo)
        assert len(presets) >= 2, algo
        for preset in presets:
            load_config(cls, resolve_config(preset))


def test_trajectories_round_trip_and_rebuild_glam_prompts(tmp_path):
    red_ball = "go to the red ball"
    steps = [
        ExpertStep(0, 0, red_ball, ("You see a red ball 2 steps forward",), "go forward", 2, 0.0, False, False),
        ExpertStep(0, 1, red_ball, ("You see a red ball 1 step forward",), "go forward", 2, 0.9, True, True),
        ExpertStep(1, 0, "go to the blue key", ("You see a wall 1 step forward",), "turn left", 0, 0.0, True, False),
    ]
    path = write_trajectories(tmp_path / "t.jsonl", steps)
    assert read_trajectories(path) == steps
    prompts, actions = demonstrations(read_trajectories(path), history=2, variant=None, successful_only=True)
    assert actions.tolist() == [2, 2]  # the failed episode is left out
    assert prompts[1].endswith("Action 1: ") and "Action 0: go forward" in prompts[1]
    (tmp_path / "bad.jsonl").write_text('{"episode": 0}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_trajectories(tmp_path / "bad.jsonl")


def _params(module: torch.nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def test_symbolic_ppo_resume_is_exact(tmp_path):
    from llmrl.runtime.checkpoint import load_checkpoint
    from llmrl.train.symbolic_ppo import build_symbolic_policy

    overrides = dict(TINY_ENV, num_envs=2, num_steps=8, minibatch_size=8, epochs=1, channels=4, mission_hidden=8,
                     total_frames=32, checkpoint_every=1, out_dir=str(tmp_path), tensorboard=False)
    full = train_symbolic_ppo(SymbolicPPOConfig(**overrides, name="full"))
    half = train_symbolic_ppo(SymbolicPPOConfig(**{**overrides, "total_frames": 16}, name="half"))
    # Continue the half run up to the full budget (the override is what a user passes on --resume).
    cfg = half.load_config(SymbolicPPOConfig, ["total_frames=32"])
    train_symbolic_ppo(cfg, resume=half.path)
    a, b = build_symbolic_policy(cfg), build_symbolic_policy(cfg)
    load_checkpoint(full.path, modules={"policy": a}, rng=False)
    load_checkpoint(half.path, modules={"policy": b}, rng=False)
    for x, y in zip(_params(a), _params(b), strict=True):
        torch.testing.assert_close(x, y)
    rows = list(csv.DictReader(half.metrics_path.open()))
    assert [int(r["frames"]) for r in rows] == [16, 32]


def test_drrn_run_writes_metrics_and_resumes_exactly(tmp_path):
    overrides = dict(TINY_ENV, history=1, num_envs=2, hidden=8, max_words=32, batch_size=4, learning_starts=4,
                     train_every=2, target_update_every=4, log_every=8, checkpoint_every=1, total_frames=16,
                     out_dir=str(tmp_path), tensorboard=False, buffer_size=64)
    full = train_drrn(DRRNConfig(**overrides, name="full"))
    half = train_drrn(DRRNConfig(**{**overrides, "total_frames": 8}, name="half"))
    train_drrn(half.load_config(DRRNConfig, ["total_frames=16"]), resume=half.path)
    from safetensors.torch import load_file

    a = load_file(latest_checkpoint(full.path) / "module.q.safetensors")
    b = load_file(latest_checkpoint(half.path) / "module.q.safetensors")
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key])
    header = next(csv.reader(full.metrics_path.open()))
    assert {"frames", "success_rate", "loss"} <= set(header)


def test_drrn_rows_before_learning_starts_are_not_mistaken_for_divergence(tmp_path):
    # The first metrics row comes before any update: its loss is NaN, which is not a diverged run.
    cfg = DRRNConfig(**TINY_ENV, history=1, num_envs=2, hidden=8, max_words=32, batch_size=4, learning_starts=16,
                     log_every=8, total_frames=32, buffer_size=64, out_dir=str(tmp_path), tensorboard=False)
    rows = list(csv.DictReader(train_drrn(cfg).metrics_path.open()))
    assert math.isnan(float(rows[0]["loss"])) and math.isfinite(float(rows[-1]["loss"]))


def _fake_run(root: Path, algo: str, seed: int, curve: list[tuple[int, float]], setting: int = 0) -> Path:
    run = RunDir.create(root, algo, f"{algo}-x", SymbolicPPOConfig(seed=seed, channels=8 + setting))
    with run.metrics_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["step", "frames", "success_rate"])
        writer.writerows([frames, frames, rate] for frames, rate in curve)
    return run.path


def test_budget_success_and_frames_to_threshold_use_smoothed_rows(tmp_path):
    path = _fake_run(tmp_path, "symbolic-ppo", 0, [(100, 0.0), (200, 0.4), (300, 0.6), (400, 0.8)])
    run = read_run(path)
    assert success_at_budget(run, 300, smooth=2) == pytest.approx(0.5)
    assert success_at_budget(run, 250, smooth=1) == pytest.approx(0.4)
    assert math.isnan(success_at_budget(run, 500))  # the run never reached that budget
    assert frames_to_threshold(run, 0.5, smooth=2) == 300
    assert math.isnan(frames_to_threshold(run, 0.9, smooth=1))


def test_compare_groups_seeds_and_writes_markdown_json_and_plot(tmp_path):
    runs = [
        _fake_run(tmp_path, "symbolic-ppo", 0, [(100, 0.2), (200, 0.6)]),
        _fake_run(tmp_path, "symbolic-ppo", 1, [(100, 0.4), (200, 0.8)]),
        _fake_run(tmp_path, "drrn", 0, [(100, 0.1), (200, 0.1)]),
    ]
    summaries, budgets = compare_runs(runs, [200], smooth=1)
    by_algo = {s.algo: s for s in summaries}
    assert len(by_algo["symbolic-ppo"].runs) == 2
    assert by_algo["symbolic-ppo"].success_at[200] == pytest.approx((0.7, 0.1))
    assert by_algo["symbolic-ppo"].reached == 2 and by_algo["drrn"].reached == 0
    md, js, png = write_comparison(summaries, budgets, tmp_path / "out")
    assert "0.700 ± 0.100" in md.read_text() and "never" in md.read_text()
    data = json.loads(js.read_text())
    assert data["budgets"] == [200] and data["groups"][1]["frames_to_threshold"] == [None, None]
    assert png.stat().st_size > 0


def test_compare_cli_prints_table_and_rejects_bad_budgets(tmp_path):
    from llmrl.cli import baseline_commands  # noqa: F401  (registers the commands)
    from llmrl.cli.app import app

    runs = [str(_fake_run(tmp_path, "drrn", s, [(50, 0.3), (100, 0.6)])) for s in (0, 1)]
    result = CliRunner().invoke(app, ["compare", *runs, "--budgets", "100", "--out", str(tmp_path / "c")])
    assert result.exit_code == 0, result.output
    assert "drrn" in result.output and (tmp_path / "c" / "compare.md").is_file()
    bad = CliRunner().invoke(app, ["compare", *runs, "--budgets", "ten"])
    assert bad.exit_code != 0 and "comma-separated" in bad.output
    missing = CliRunner().invoke(app, ["train", "drrn"])
    assert missing.exit_code != 0 and "--config" in missing.output
