"""`evaluate_ellm`: plays a checkpoint through `llmrl.eval.goal_play` (no training loop), reproducibly.

The pinned numbers are those the previous evaluator (a non-learning `EllmLoop`) gave for the
same run and seeds: the evaluation protocol (per-env episode seeds, lockstep envs, the first
N episodes to end, one exploration generator) is unchanged.
"""

import pytest

from llmrl.algos.dqn import DQNConfig
from llmrl.train import ellm_loop
from llmrl.train.ellm import evaluate_ellm, train_ellm
from llmrl.train.ellm_config import CrafterEnvConfig, EllmConfig

METRICS = ("achievements_per_episode", "crafter_score", "episode_return", "episode_intrinsic_return",
           "episode_length")


def _train(tmp_path, embedder, intrinsic: str):
    dqn = DQNConfig(batch_size=8, learning_starts=16, buffer_size=256, target_update_every=32,
                    epsilon_decay_steps=100, train_every=2)
    cfg = EllmConfig(total_frames=120, hidden=16, log_every=40, checkpoint_every=0, metrics_window=5,
                     env=CrafterEnvConfig(num_envs=3, length=120), dqn=dqn, out_dir=str(tmp_path), intrinsic=intrinsic)
    return train_ellm(cfg, embedder=embedder).path


@pytest.mark.parametrize(("intrinsic", "episodes", "epsilon", "expected", "unlocked"), [
    ("none", 4, 0.0, (0.0, 0.0, -0.45000000670552254, 0.0, 95.75), {}),
    ("oracle", 5, 0.5, (1.8, 0.9413436934905515, 1.6200000002980233, 1.8, 109.2),
     {"collect_sapling": 60.0, "collect_wood": 20.0, "place_plant": 20.0, "wake_up": 80.0}),
])
def test_evaluation_gives_the_pinned_numbers_without_a_training_loop(tmp_path, embedder, monkeypatch, intrinsic,
                                                                      episodes, epsilon, expected, unlocked):
    run = _train(tmp_path, embedder, intrinsic)

    def no_loop(*args, **kwargs):
        raise AssertionError("evaluation built a training loop")

    monkeypatch.setattr(ellm_loop.EllmLoop, "__init__", no_loop)
    result = evaluate_ellm(run, episodes, epsilon=epsilon, embedder=embedder)
    assert result["episodes"] == episodes and result["step"] == 120
    assert tuple(result[k] for k in METRICS) == pytest.approx(expected, rel=1e-12)
    assert {name: rate for name, rate in result["success_rates"].items() if rate} == unlocked
    again = evaluate_ellm(run, episodes, epsilon=epsilon, embedder=embedder)
    assert {k: again[k] for k in METRICS} == {k: result[k] for k in METRICS}


@pytest.mark.parametrize(("episodes", "epsilon", "message"), [(0, 0.0, "episodes"), (2, 1.5, "epsilon")])
def test_bad_arguments_are_rejected_before_anything_loads(tmp_path, episodes, epsilon, message):
    with pytest.raises(ValueError, match=message):
        evaluate_ellm(tmp_path / "no-run", episodes, epsilon=epsilon)
