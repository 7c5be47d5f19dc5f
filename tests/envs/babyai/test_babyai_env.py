"""BabyAI-Text envs: gymnasium API, ids, seeding, splits, rewards, actions, variants, vector use."""

import warnings
from collections import Counter

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from minigrid.envs.babyai.core.verifier import AfterInstr, BeforeInstr, PutNextInstr

import llmrl.envs.babyai_text as bt
from llmrl.envs.babyai_text import GLAM_IDS, HELD_OUT_PAIRS, TASKS, make, make_vec
from llmrl.envs.babyai_text.levels import SEQUENCE_PHRASINGS


@pytest.mark.parametrize("env_id", GLAM_IDS)
def test_check_env_passes_without_warnings(env_id):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(gym.make(env_id).unwrapped)


def test_registration_is_idempotent_and_ids_take_kwargs():
    bt.register_envs()
    env = gym.make("BabyAIText-GoTo-v0", room_size=6, num_dists=2)
    obs, info = env.reset(seed=1)
    assert env.unwrapped.level.width == 6 and len(env.unwrapped.level.room_grid[0][0].objs) == 3
    assert env.unwrapped.level.max_steps == 36
    with pytest.raises(ValueError, match="num_dists"):
        make("BabyAIText-GoTo-v0", num_dists=-1)


@pytest.mark.parametrize(
    ("env_id", "max_steps"),
    [("BabyAIText-GoTo-v0", 64), ("BabyAIText-PickUp-v0", 64), ("BabyAIText-PutNext-v0", 128),
     ("BabyAIText-Open-v0", 128), ("BabyAIText-PickUpThenGoTo-v0", 128), ("BabyAIText-GoToAfterPickUp-v0", 128)],
)
def test_max_steps_rule(env_id, max_steps):
    env = make(env_id)
    env.reset(seed=0)
    assert env.level.max_steps == max_steps


def _rollout(env_id: str, seed: int, steps: int = 150):
    env = make(env_id)
    actions = np.random.default_rng(seed).integers(0, 6, size=steps)
    obs, info = env.reset(seed=seed)
    record = [(info["task_type"], obs["mission"], env.level.grid.encode().tobytes(), obs["descriptions"])]
    episode = 0
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(int(action))
        record.append((reward, terminated, truncated, obs["descriptions"], info["success"]))
        if terminated or truncated:
            episode += 1
            obs, info = env.reset(seed=seed * 1000 + episode)
            record.append((info["task_type"], obs["mission"], env.level.grid.encode().tobytes()))
    return record


@pytest.mark.parametrize(
    "env_id", ["BabyAIText-MixedTrainLocal-v0", "BabyAIText-MixedTestLocal-v0", "BabyAIText-PutNext-v0"]
)
def test_same_seed_same_episode(env_id):
    assert _rollout(env_id, 7) == _rollout(env_id, 7)
    assert _rollout(env_id, 7) != _rollout(env_id, 8)


def _mission_pairs(instr) -> list[tuple[str, str]]:
    if isinstance(instr, (BeforeInstr, AfterInstr)):
        return _mission_pairs(instr.instr_a) + _mission_pairs(instr.instr_b)
    if isinstance(instr, PutNextInstr):
        return [(instr.desc_move.color, instr.desc_move.type), (instr.desc_fixed.color, instr.desc_fixed.type)]
    return [(instr.desc.color, instr.desc.type)]


def test_splits_over_2000_resets_and_uniform_task_families():
    train, test = bt.make_level("BabyAIText-MixedTrainLocal-v0"), bt.make_level("BabyAIText-MixedTestLocal-v0")
    counts = Counter()
    for seed in range(2000):
        train.reset(seed=seed)
        test.reset(seed=10_000 + seed)
        assert not set(_mission_pairs(train.instrs)) & HELD_OUT_PAIRS, train.mission
        assert set(_mission_pairs(test.instrs)) <= HELD_OUT_PAIRS, test.mission
        counts[train.task_type] += 1
    assert set(counts) == set(TASKS)
    # Five families drawn uniformly; the sequence family's two phrasings share its fifth.
    families = {t: counts[t] for t in TASKS if t not in SEQUENCE_PHRASINGS}
    families["sequence"] = sum(counts[t] for t in SEQUENCE_PHRASINGS)
    expected = 2000 / 5
    chi_square = sum((n - expected) ** 2 / expected for n in families.values())
    assert chi_square < 18.5, counts  # 4 degrees of freedom, p = 0.001
    first, second = (counts[t] for t in SEQUENCE_PHRASINGS)
    assert abs(first - second) < 4 * (families["sequence"] / 4) ** 0.5, counts  # a fair coin, 4 sigma


def test_success_reward_and_info():
    env = make("BabyAIText-GoTo-v0")
    steps = list(bt.expert_trajectories("BabyAIText-GoTo-v0", episodes=1, seed=4))
    obs, info = env.reset(seed=4)
    assert set(info) == {"mission", "descriptions", "success", "task_type", "valid_actions"}
    for step in steps:
        obs, reward, terminated, truncated, info = env.step(step.action)
    assert terminated and info["success"]
    assert reward == pytest.approx(1 - 0.9 * len(steps) / 64)


def test_text_and_index_actions_agree_and_unknown_command_lists_valid_ones():
    by_text, by_index = make("BabyAIText-PickUp-v0"), make("BabyAIText-PickUp-v0")
    by_text.reset(seed=2)
    by_index.reset(seed=2)
    for index, name in enumerate(bt.ACTIONS):
        assert by_text.step(name)[0] == by_index.step(np.int64(index))[0]
    with pytest.raises(ValueError, match="valid actions: turn left, turn right, go forward, pick up, drop, toggle"):
        by_text.step("jump")
    with pytest.raises(ValueError, match="index"):
        by_text.step(6)


def test_any_minigrid_babyai_id():
    env = make("BabyAI-GoToRedBall-v0")
    obs, info = env.reset(seed=0)
    assert obs["mission"] == "go to the red ball" and info["task_type"] == "GoToRedBall"
    with pytest.raises(ValueError, match="unknown env id"):
        make("MiniGrid-Empty-5x5-v0")


def test_variants_change_mission_descriptions_and_actions_consistently():
    base = make("BabyAIText-PickUpThenGoTo-v0")
    obs, _ = base.reset(seed=1)
    assert obs["mission"] == "pick up the blue ball, then go to the red key"
    expected = {
        "nouns": "pick up the blue chair, then go to the red car",
        "colors": "pick up the cyan ball, then go to the vermilion key",
        "invented_nouns": "pick up the blue dax, then go to the red afze",
        "invented_adjectives": "pick up the croh ball, then go to the faze key",
        "invented_both": "pick up the croh dax, then go to the faze afze",
        "rephrased": obs["mission"],
        "synonym_actions": obs["mission"],
        "french": "ramasse la balle bleue, puis va à la clé rouge",
    }
    for variant, mission in expected.items():
        env = make("BabyAIText-PickUpThenGoTo-v0", variant=variant)
        v_obs, info = env.reset(seed=1)
        assert v_obs["mission"] == mission, variant
        assert len(v_obs["descriptions"]) == len(obs["descriptions"])
        assert info["valid_actions"] == list(bt.variant_action_names(variant))
        env.step(bt.variant_action_names(variant)[2])
    french = make("BabyAIText-PickUpThenGoTo-v0", variant="french")
    french_obs, _ = french.reset(seed=1)
    assert obs["descriptions"][0] == "You see a wall 4 steps forward"
    assert french_obs["descriptions"][0] == "Tu vois un mur à 4 pas devant"
    assert "You see a blue ball 2 steps left and 2 steps forward" in obs["descriptions"]
    assert "Tu vois une balle bleue à 2 pas à gauche et 2 pas devant" in french_obs["descriptions"]
    nouns_obs, _ = make("BabyAIText-PickUpThenGoTo-v0", variant="nouns").reset(seed=1)
    assert "You see a blue chair 2 steps left and 2 steps forward" in nouns_obs["descriptions"]
    assert bt.variant_action_names("synonym_actions")[0] == "rotate left"
    assert bt.variant_prompt_headers(None)["goal"] == "Goal of the agent:"
    assert bt.variant_prompt_headers("rephrased")["goal"] == "I would like the agent to:"
    assert bt.variant_prompt_headers("french")["actions"] == "Actions possibles de l'agent :"
    with pytest.raises(ValueError, match="unknown variant"):
        make("BabyAIText-GoTo-v0", variant="german")


def test_french_after_mission_and_door():
    env = make("BabyAIText-GoToAfterPickUp-v0", variant="french")
    obs, _ = env.reset(seed=1)
    assert obs["mission"] == "va à la clé rouge après avoir ramassé la balle bleue"
    door_obs, _ = make("BabyAIText-Open-v0", variant="french").reset(seed=1)
    assert door_obs["mission"] == "ouvre la porte grise"


def test_vector_env_batches_text_and_autoresets():
    envs = make_vec("BabyAIText-MixedTrainLocal-v0", num_envs=3, seed=11)
    obs, info = envs.reset()
    assert isinstance(obs["mission"], tuple) and len(obs["mission"]) == 3
    assert all(isinstance(d, tuple) and isinstance(d[0], str) for d in obs["descriptions"])
    assert info["mission"].shape == (3,) and info["_mission"].all()
    single = make("BabyAIText-MixedTrainLocal-v0")
    assert obs["mission"][1] == single.reset(seed=12)[0]["mission"]
    finished = np.zeros(3, dtype=bool)
    for _ in range(70):  # every GoTo/PickUp episode truncates at 64 steps
        obs, reward, terminated, truncated, info = envs.step(np.array([0, 1, 0]))
        finished |= terminated | truncated
    assert finished.any() and reward.shape == (3,)
    assert info["success"].dtype == bool
    envs.close()
