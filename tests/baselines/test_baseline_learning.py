"""Each baseline learns: success on the same 200 seeded episodes rises by >= 0.3 over its untrained self
(NPAE: significantly, the gain's 99% lower bound above zero).

Every test trains from its shipped `cpu-tiny` preset (GoTo in a 5x5 room with one distractor)
through the real trainer (run directory, checkpoints), then evaluates the latest checkpoint
with `evaluate_run`; the untrained policy is the same run's build before any update, evaluated
the same way (actions sampled; DRRN at its preset's eval_temperature, before and after alike).
Training plays episodes of hashed seeds (BC: bot demos from seed 10,000,000 on), not the evaluation
seeds 1e9 * seed + i.
"""

from __future__ import annotations

import pytest

from llmrl.eval.compare import evaluate_run
from llmrl.eval.glam_eval import evaluate_policy
from llmrl.presets import resolve_config
from llmrl.train import load_config

EPISODES = 200
GAIN = 0.3
Z99 = 2.576  # two-sided 99% normal quantile


def gain_lower_bound(before: float, after: float, n: int = EPISODES) -> float:
    """99% lower confidence bound of after - before, two success rates over n episodes each."""
    spread = (before * (1 - before) / n + after * (1 - after) / n) ** 0.5
    return after - before - Z99 * spread


def _untrained_success(algo: str, cfg) -> float:
    if algo == "symbolic-ppo":
        from llmrl.train.symbolic_ppo import build_symbolic_policy, evaluate_symbolic

        return evaluate_symbolic(build_symbolic_policy(cfg), cfg, episodes=EPISODES).success_rate
    if algo == "drrn":
        from llmrl.train.drrn import build_drrn

        return evaluate_policy(build_drrn(cfg), cfg, episodes=EPISODES).success_rate
    if algo == "npae":
        from llmrl.train.npae import build_npae_policy

        return evaluate_policy(build_npae_policy(cfg), cfg, episodes=EPISODES).success_rate
    from llmrl.train.lm_policies import build_policy

    return evaluate_policy(build_policy(cfg), cfg, episodes=EPISODES).success_rate


@pytest.mark.parametrize("algo", ["symbolic-ppo", "drrn", "npae", "bc"])
def test_baseline_learns_on_a_small_babyai_text_task(algo, tmp_path):
    from llmrl.cli.baseline_commands import _trainer

    config_cls, train = _trainer(algo)
    cfg = load_config(config_cls, resolve_config(f"{algo}/cpu-tiny"), [f"out_dir={tmp_path}", "tensorboard=false"])
    before = _untrained_success(algo, cfg)
    run = train(cfg)
    after = evaluate_run(run.path, episodes=EPISODES).success_rate
    bound = gain_lower_bound(before, after)
    print(f"{algo}: success {before:.3f} -> {after:.3f}, gain's 99% lower bound {bound:+.3f}")
    if algo == "npae":
        # NPAE (the LLM's architecture, untrained, with an action head) is the paper's slow learner:
        # at this budget its gain over seeds ranged +0.195 to +0.39 (docs/experiments.md), so a +0.3
        # bar would pass or fail by seed. Its bar is a significant rise: the 99% bound above zero.
        assert bound > 0, f"npae did not learn significantly: {before:.3f} -> {after:.3f} (bound {bound:+.3f})"
    else:
        assert after >= before + GAIN, f"{algo} did not learn: {before:.3f} -> {after:.3f}"
