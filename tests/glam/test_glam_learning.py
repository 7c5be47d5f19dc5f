"""The learning check: PPO raises the tiny LM policy's success by >= 0.3 on the same 200 seeded episodes."""


from llmrl.eval.glam_eval import evaluate_policy
from llmrl.presets import resolve_config
from llmrl.train import load_config
from llmrl.train.glam import GlamConfig, train_glam
from llmrl.train.lm_policies import build_policy, load_policy_checkpoint

PRESET = resolve_config("glam/cpu-tiny")


def test_glam_tiny_policy_learns_goto(tmp_path):
    cfg = load_config(GlamConfig, PRESET, [f"out_dir={tmp_path}", "tensorboard=false"])
    # The untrained policy is the trainer's own starting point: same seed, same weights.
    before = evaluate_policy(build_policy(cfg), cfg, episodes=200, seed=1, num_envs=25)
    run = train_glam(cfg)
    trained = build_policy(cfg)
    load_policy_checkpoint(trained, run.path)
    after = evaluate_policy(trained, cfg, episodes=200, seed=1, num_envs=25)
    print(f"success before {before.success_rate:.3f}, after {after.success_rate:.3f}")
    assert after.success_rate >= before.success_rate + 0.3
    # Shorter episodes too: the policy walks to the object instead of stumbling on it.
    assert after.mean_length < before.mean_length
