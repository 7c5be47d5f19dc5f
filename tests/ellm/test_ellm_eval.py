"""`evaluate_ellm`: plays a checkpoint through `llmrl.eval.goal_play` (no training loop), reproducibly.

The pinned numbers are those the previous evaluator (a non-learning `EllmLoop`) gave for the
same run and seeds: the evaluation protocol (per-env episode seeds, lockstep envs, the first
N episodes to end, one exploration generator) is unchanged.
"""

import zlib

import pytest
import torch

from llmrl.algos.dqn import DQNConfig
from llmrl.train import ellm_loop
from llmrl.train.ellm import evaluate_ellm, train_ellm
from llmrl.train.ellm_config import CrafterEnvConfig, EllmConfig

METRICS = ("achievements_per_episode", "crafter_score", "episode_return", "episode_intrinsic_return",
           "episode_length")


class HashEmbedder:
    """A deterministic stand-in sentence encoder: one fixed random unit vector per text."""

    dim = 16

    def embed(self, texts: list[str]) -> torch.Tensor:
        vectors = [torch.randn(self.dim, generator=torch.Generator().manual_seed(zlib.crc32(t.encode())))
                   for t in texts]
        return torch.nn.functional.normalize(torch.stack(vectors), dim=1)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    dqn = DQNConfig(batch_size=8, learning_starts=16, buffer_size=256, target_update_every=32,
                    epsilon_decay_steps=100, train_every=2)
    base = dict(total_frames=120, hidden=16, log_every=40, checkpoint_every=0, metrics_window=5,
                env=CrafterEnvConfig(num_envs=3, length=120), dqn=dqn, out_dir=str(root))
    return {intrinsic: train_ellm(EllmConfig(**base, intrinsic=intrinsic), embedder=HashEmbedder()).path
            for intrinsic in ("none", "oracle")}


@pytest.mark.parametrize(("intrinsic", "episodes", "epsilon", "expected", "unlocked"), [
    ("none", 4, 0.0, (0.0, 0.0, -0.45000000670552254, 0.0, 95.75), {}),
    ("oracle", 5, 0.5, (2.0, 1.0012894655885836, 1.8200000002980232, 2.0, 106.6),
     {"collect_sapling": 60.0, "collect_wood": 20.0, "place_plant": 40.0, "wake_up": 80.0}),
])
def test_evaluation_gives_the_pinned_numbers_without_a_training_loop(runs, monkeypatch, intrinsic, episodes, epsilon,
                                                                      expected, unlocked):
    def no_loop(*args, **kwargs):
        raise AssertionError("evaluation built a training loop")

    monkeypatch.setattr(ellm_loop.EllmLoop, "__init__", no_loop)
    result = evaluate_ellm(runs[intrinsic], episodes, epsilon=epsilon, embedder=HashEmbedder())
    assert result["episodes"] == episodes and result["step"] == 120
    assert tuple(result[k] for k in METRICS) == pytest.approx(expected, rel=1e-12)
    assert {name: rate for name, rate in result["success_rates"].items() if rate} == unlocked
    again = evaluate_ellm(runs[intrinsic], episodes, epsilon=epsilon, embedder=HashEmbedder())
    assert {k: again[k] for k in METRICS} == {k: result[k] for k in METRICS}


@pytest.mark.parametrize(("episodes", "epsilon", "message"), [(0, 0.0, "episodes"), (2, 1.5, "epsilon")])
def test_bad_arguments_are_rejected(runs, episodes, epsilon, message):
    with pytest.raises(ValueError, match=message):
        evaluate_ellm(runs["none"], episodes, epsilon=epsilon, embedder=HashEmbedder())
