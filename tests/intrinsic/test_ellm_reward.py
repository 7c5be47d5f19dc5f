"""ELLM similarity reward: hand-computed cosines, threshold, aliases, per-episode filtering, resume."""

import math

import numpy as np
import pytest
import torch

from llmrl.intrinsic import GoalContext, GoalSimilarityReward, OracleSuggester, Transition, make_intrinsic

# Known unit (or not) vectors: cos(chop tree, chop wood) = 0.8; the rest orthogonal.
VECTORS = {
    "chop tree": [1.0, 0.0, 0.0, 0.0],
    "chop wood": [0.8, 0.6, 0.0, 0.0],
    "drink water": [0.0, 0.0, 2.0, 0.0],  # not unit: the reward re-normalises
    "place crafting table": [0.0, 0.0, 0.0, 1.0],
    "eat cow": [0.0, 1.0, 0.0, 0.0],
}


class FakeEmbedder:
    dim = 4

    def __init__(self):
        self.calls = []

    def embed(self, texts):
        self.calls.append(list(texts))
        return torch.tensor([VECTORS[t] for t in texts])


class FixedSuggester:
    """Suggests the same goals everywhere (minus achieved ones, as suggesters do)."""

    def __init__(self, goals):
        self.goals, self.seen = goals, []

    def suggest(self, contexts):
        self.seen += contexts
        return [[g for g in self.goals if g not in c.achieved] for c in contexts]

    def stats(self):
        return {"queries": float(len(self.seen))}


def reward(threshold=0.99, filter_achieved=True, goals=("chop tree", "drink water"), num_envs=1):
    return GoalSimilarityReward(
        num_envs, suggester=FixedSuggester(list(goals)), embedder=FakeEmbedder(), threshold=threshold,
        filter_achieved=filter_achieved,
    )


def step(r, caption, goals, env=0, done=False):
    return float(r.rewards([Transition(env, caption, tuple(goals), "", done)])[0])


def test_reward_is_the_best_cosine_above_the_threshold():
    assert step(reward(), "chop tree", ["drink water", "chop tree"]) == pytest.approx(1.0)
    assert step(reward(), "chop wood", ["chop tree", "drink water"]) == 0.0  # 0.8 < 0.99
    assert step(reward(threshold=0.5), "chop wood", ["chop tree", "drink water"]) == pytest.approx(0.8)
    assert step(reward(threshold=0.81), "chop wood", ["chop tree"]) == 0.0  # 0.8 is just below it
    assert step(reward(), None, ["chop tree"]) == 0.0  # nothing happened
    assert step(reward(threshold=-1.0), "chop tree", []) == 0.0  # no goals: nothing to match


def test_aliases_are_the_same_goal():
    assert step(reward(), "place crafting table", ["make crafting table"]) == pytest.approx(1.0)
    assert step(reward(), "attack cow", ["eat cow"]) == pytest.approx(1.0)


def test_achieved_goals_are_filtered_until_the_episode_ends():
    r = reward()
    context = [GoalContext("You see tree.")]
    assert r.goals(context) == [["chop tree", "drink water"]]
    assert step(r, "chop tree", r.goals(context)[0]) == pytest.approx(1.0)
    goals = r.goals(context)[0]
    assert goals == ["drink water"] and r.suggester.seen[-1].achieved == {"chop tree"}
    assert step(r, "chop tree", goals) == 0.0  # the repeat is not rewarded
    step(r, None, goals, done=True)  # episode ends: filtering starts over
    assert r.goals(context) == [["chop tree", "drink water"]]


def test_nofilter_ablation_rewards_repeats():
    r = make_intrinsic("ellm-nofilter", num_envs=1, embedder=FakeEmbedder(), suggester=FixedSuggester(["chop tree"]))
    context = [GoalContext("You see tree.", achieved=frozenset({"chop tree"}))]
    for _ in range(2):
        goals = r.goals(context)[0]
        assert goals == ["chop tree"]  # even what the trainer marked achieved is kept
        assert step(r, "chop tree", goals) == pytest.approx(1.0)


def test_envs_are_independent_and_reset_clears_one():
    r = reward(num_envs=2)
    step(r, "chop tree", ["chop tree"], env=0)
    contexts = [GoalContext("You see tree."), GoalContext("You see tree.")]
    assert r.goals(contexts) == [["drink water"], ["chop tree", "drink water"]]
    r.reset(0)
    assert r.goals(contexts)[0] == ["chop tree", "drink water"]
    with pytest.raises(ValueError, match="one GoalContext per env"):
        r.goals(contexts[:1])
    with pytest.raises(ValueError, match="env_index"):
        step(r, "chop tree", [], env=2)


def test_rewards_are_clipped_to_one():
    class Scaled(FakeEmbedder):
        def embed(self, texts):  # cosine rounding above 1 must not leak out
            return torch.tensor([[1.0, 1e-4] for _ in texts])

    r = GoalSimilarityReward(1, suggester=FixedSuggester([]), embedder=Scaled(), threshold=0.5)
    assert step(r, "chop tree", ["chop tree"]) <= 1.0


def test_state_dict_round_trip_keeps_achieved_goals_and_stats():
    r = reward()
    step(r, "chop tree", ["chop tree"])
    restored = reward()
    restored.load_state_dict(r.state_dict())
    assert restored.goals([GoalContext("You see tree.")]) == [["drink water"]]
    assert restored.stats()["reward_mean"] == pytest.approx(1.0)
    assert restored.stats()["suggester/queries"] == 1.0


def test_oracle_reward_uses_feasible_goals():
    r = make_intrinsic("oracle", num_envs=1, embedder=FakeEmbedder(), suggester=None)
    goals = r.goals([GoalContext("You see tree and water.", feasible=("chop tree", "drink water"))])[0]
    assert goals == ["chop tree", "drink water"] and r.uses_goals
    assert step(r, "drink water", goals) == pytest.approx(1.0)


def test_make_intrinsic_rejects_bad_requests():
    with pytest.raises(ValueError, match="accepted: ellm"):
        make_intrinsic("curiosity", num_envs=1)
    with pytest.raises(ValueError, match="needs a goal suggester"):
        make_intrinsic("ellm", num_envs=1, embedder=FakeEmbedder())
    with pytest.raises(ValueError, match="needs an embedder"):
        make_intrinsic("rnd", num_envs=1)
    with pytest.raises(ValueError, match="num_envs"):
        make_intrinsic("none", num_envs=0)


@pytest.mark.integration
def test_minilm_pays_an_exact_caption_match_and_not_another_goal():
    from llmrl.lm import load_embedder

    r = make_intrinsic("ellm", num_envs=1, embedder=load_embedder("minilm"), suggester=OracleSuggester())
    assert step(r, "chop tree", ["chop tree", "drink water"]) == pytest.approx(1.0, abs=1e-4)
    assert step(r, "drink water", ["chop tree", "eat cow"]) == 0.0
    assert not math.isnan(r.stats()["reward_mean"]) and np.isfinite(r.stats()["rewarded_share"])
