"""Exploration baselines: novelty once per episode, RND learning, APT kNN distance, none."""

import math

import numpy as np
import pytest
import torch

from llmrl.intrinsic import AptReward, GoalContext, RndReward, Transition, make_intrinsic


class TableEmbedder:
    """Unit vectors looked up by text; unknown texts get a fixed random unit vector."""

    dim = 8

    def __init__(self, table=None):
        self.table = table or {}

    def embed(self, texts):
        rows = []
        for text in texts:
            if text not in self.table:
                g = torch.Generator().manual_seed(sum(map(ord, text)) * 7919 + len(text))
                self.table[text] = torch.nn.functional.normalize(torch.randn(self.dim, generator=g), dim=0)
            rows.append(torch.as_tensor(self.table[text], dtype=torch.float32))
        return torch.stack(rows)


def batch(*captions, done=False):
    return [Transition(i, c, (), "", done) for i, c in enumerate(captions)]


def test_novelty_pays_each_caption_once_per_episode_and_env():
    r = make_intrinsic("novelty", num_envs=2)
    assert r.goals([GoalContext("a"), GoalContext("b")]) == [[], []] and not r.uses_goals
    assert list(r.rewards(batch("chop tree", "chop tree"))) == [1.0, 1.0]
    assert list(r.rewards(batch("chop tree", None))) == [0.0, 0.0]
    assert list(r.rewards(batch("make crafting table", "drink water"))) == [1.0, 1.0]
    assert list(r.rewards(batch("place crafting table", "eat cow"))) == [0.0, 1.0]  # alias already seen
    r.rewards(batch(None, None, done=True))
    assert list(r.rewards(batch("chop tree", "drink water"))) == [1.0, 1.0]  # new episodes
    restored = make_intrinsic("novelty", num_envs=2)
    restored.load_state_dict(r.state_dict())
    assert list(restored.rewards(batch("chop tree", "sleep"))) == [0.0, 1.0]


def test_none_is_zero():
    r = make_intrinsic("none", num_envs=3)
    assert np.array_equal(r.rewards(batch("chop tree", None, "sleep")), np.zeros(3, np.float32))
    assert r.update() == {}


def test_rnd_reward_falls_on_a_repeated_state_after_updates():
    r = RndReward(1, embedder=TableEmbedder(), dim=8, lr=1e-2, batch_size=32, seed=0)
    assert r.update() == {}  # nothing stored yet
    for i in range(16):  # a spread of states so the normaliser has a scale
        r.rewards([Transition(0, None, (), f"state {i} " * (i + 1))])
    repeated = [Transition(0, None, (), "You see tree. You are targeting tree.")]
    before = float(r.rewards(repeated)[0])
    losses = [r.update()["rnd/loss"] for _ in range(60)]
    after = float(r.rewards(repeated)[0])
    assert after < 0.5 * before
    assert losses[-1] < losses[0]


def test_rnd_state_dict_round_trip_gives_the_same_rewards():
    r = RndReward(1, embedder=TableEmbedder(), dim=8, lr=1e-2, seed=1)
    for i in range(5):
        r.rewards([Transition(0, None, (), f"s{i}")])
        r.update()
    restored = RndReward(1, embedder=TableEmbedder(), dim=8, lr=1e-2, seed=2)
    restored.load_state_dict(r.state_dict())
    probe = [Transition(0, None, (), "probe")]
    assert restored.rewards(probe)[0] == pytest.approx(r.rewards(probe)[0], rel=1e-5)


def test_apt_reward_is_log_one_plus_mean_knn_distance():
    points = {"a": [1.0, 0.0], "b": [0.0, 1.0], "c": [-1.0, 0.0], "d": [0.6, 0.8], "q": [0.8, 0.6]}
    embedder = TableEmbedder({k: torch.tensor(v) for k, v in points.items()})
    embedder.dim = 2
    r = AptReward(1, embedder=embedder, dim=2, k=2)
    first = r.rewards([Transition(0, None, (), "a")])
    assert first[0] == 0.0  # empty memory
    for text in "bcd":
        r.rewards([Transition(0, None, (), text)])
    # q's distances: a 0.632, d 0.283, b 1.265, c 1.897 -> the two nearest are d and a.
    expected = math.log1p((math.dist([0.8, 0.6], [0.6, 0.8]) + math.dist([0.8, 0.6], [1.0, 0.0])) / 2)
    assert r.rewards([Transition(0, None, (), "q")])[0] == pytest.approx(expected, rel=1e-5)
    restored = AptReward(1, embedder=embedder, dim=2, k=2)
    restored.load_state_dict(r.state_dict())
    query = torch.tensor([[0.0, 1.0]])
    assert restored.knn_distance(query)[0] == pytest.approx(r.knn_distance(query)[0])


def test_apt_with_fewer_states_than_k_uses_them_all():
    embedder = TableEmbedder({"a": torch.tensor([1.0, 0.0]), "b": torch.tensor([0.0, 1.0])})
    r = AptReward(1, embedder=embedder, dim=2, k=12)
    r.rewards([Transition(0, None, (), "a")])
    assert r.rewards([Transition(0, None, (), "b")])[0] == pytest.approx(math.log1p(math.sqrt(2)), rel=1e-5)


def test_factory_builds_rnd_and_apt_with_the_embedder_dimension():
    rnd = make_intrinsic("rnd", num_envs=1, embedder=TableEmbedder())
    apt = make_intrinsic("apt", num_envs=1, embedder=TableEmbedder())
    assert rnd.rewards(batch(None)).shape == (1,) and apt.k == 12


def test_rewards_are_paid_clipped_and_stats_count_what_is_paid():
    # RND's first errors are divided by a return spread estimated from almost nothing: raw values
    # can be huge, but what is paid (and logged) stays within [-1, 1].
    r = RndReward(2, embedder=TableEmbedder(), dim=8, seed=0)
    paid = np.concatenate([r.rewards([Transition(0, None, (), f"s{i}"), Transition(1, None, (), f"t{i}")])
                           for i in range(20)])
    assert paid.max() <= 1.0 and paid.min() >= 0.0
    assert r.stats()["reward_mean"] == pytest.approx(float(paid.mean()), rel=1e-5)
