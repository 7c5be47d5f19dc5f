"""Descriptions of hand-built scenes, word for word, for every rule of the reference."""

import gymnasium as gym
import pytest
from minigrid.core.grid import Grid
from minigrid.core.world_object import Ball, Box, Door, Key, Wall

from llmrl.envs.babyai_text import describe, get_lexicon, make, make_level

UP, RIGHT = 3, 0  # minigrid agent directions


def scene(agent: tuple[int, int], direction: int, objects: dict, carrying=None, size: int = 8) -> list[str]:
    """English descriptions of a walled size x size room holding `objects` {(x, y): obj}."""
    level = make_level("BabyAIText-GoTo-v0")
    level.reset(seed=0)
    level.grid = Grid(size, size)
    level.grid.wall_rect(0, 0, size, size)
    for (x, y), obj in objects.items():
        level.grid.set(x, y, obj)
    level.agent_pos, level.agent_dir, level.carrying = agent, direction, carrying
    return describe(level.gen_obs()["image"], level.carrying, get_lexicon(None))


def test_order_carry_walls_then_columns_left_to_right_far_to_near():
    objects = {
        (3, 2): Ball("red"),  # straight ahead: blocks the forward wall
        (1, 5): Key("green"),  # same row, left: blocks the left wall
        (4, 4): Box("blue"),
        (4, 1): Box("yellow"),  # same column as the blue box, further away: listed first
        (5, 1): Ball("purple"),
    }
    assert scene((3, 5), UP, objects, carrying=Key("grey")) == [
        "You carry a grey key",  # the right wall, 4 cells away, is outside the 7x7 view
        "You see a green key 2 steps left",
        "You see a red ball 3 steps forward",
        "You see a yellow box 1 step right and 4 steps forward",
        "You see a blue box 1 step right and 1 step forward",
        "You see a purple ball 2 steps right and 4 steps forward",
    ]


def test_unblocked_walls_in_three_directions_and_singular_steps():
    # Walls more than 3 cells to a side are outside the 7x7 view.
    assert scene((1, 1), UP, {}) == ["You see a wall 1 step forward", "You see a wall 1 step left"]
    assert scene((6, 6), UP, {}) == ["You see a wall 6 steps forward", "You see a wall 1 step right"]
    assert scene((4, 5), UP, {}) == [
        "You see a wall 5 steps forward",
        "You see a wall 3 steps right",
    ]
    assert scene((3, 4), UP, {}) == ["You see a wall 4 steps forward", "You see a wall 3 steps left"]


def test_only_nearest_wall_straight_ahead():
    assert scene((3, 5), UP, {(3, 3): Wall(), (2, 3): Wall()})[:1] == ["You see a wall 2 steps forward"]


def test_door_states_and_door_blocking_the_wall():
    doors = {(2, 0): Door("red", is_open=True), (3, 0): Door("green"), (5, 0): Door("blue", is_locked=True)}
    assert scene((3, 3), UP, doors) == [
        "You see a wall 3 steps left",
        "You see a open red door 1 step left and 3 steps forward",
        "You see a closed green door 3 steps forward",
        "You see a locked blue door 2 steps right and 3 steps forward",
    ]


def test_rotated_view_facing_right():
    # Facing +x: forward is +x, left is -y, right is +y.
    assert scene((2, 2), RIGHT, {(5, 2): Ball("grey"), (2, 4): Key("purple"), (3, 1): Box("red")}) == [
        "You see a wall 2 steps left",
        "You see a red box 1 step left and 1 step forward",
        "You see a grey ball 3 steps forward",
        "You see a purple key 2 steps right",
    ]


@pytest.mark.parametrize(
    "env_id",
    ["BabyAI-GoToLocal-v0", "BabyAI-PutNextLocal-v0", "BabyAI-Synth-v0", "BabyAI-SynthSeq-v0", "BabyAI-BossLevel-v0"],
)
def test_english_lexicon_renders_minigrid_missions(env_id):
    # Variants re-render the instruction tree; in English it must give minigrid's own text.
    level = gym.make(env_id).unwrapped
    lexicon = get_lexicon(None)
    for seed in range(15):
        level.reset(seed=seed)
        assert lexicon.mission(level.instrs) == level.mission


def test_text_env_matches_describe_of_its_observation():
    env = make("BabyAIText-PickUp-v0")
    obs, info = env.reset(seed=3)
    assert list(obs["descriptions"]) == info["descriptions"] == describe(
        env.level.gen_obs()["image"], env.level.carrying, get_lexicon(None)
    )
