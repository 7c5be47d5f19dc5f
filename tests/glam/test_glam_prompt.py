"""The GLAM prompt: the reference layout character for character, the history window, variants."""

import pytest

from llmrl.agents.prompt import ChatTemplate, GlamTemplate, PromptHistory, PromptObservation, Turn
from llmrl.envs.babyai_text import ACTIONS, make, variant_prompt_headers
from llmrl.lm import tiny_random_lm

HEAD = (
    "Possible action of the agent: turn left, turn right, go forward, pick up, drop, toggle \n "
    "Goal of the agent: go to the red ball \n "
)


def test_glam_template_matches_the_reference_layout_exactly():
    turns = [
        Turn(("You see a wall 2 steps forward", "You see a red ball 1 step left"), "turn left"),
        Turn(("You see a red ball 1 step forward",), "go forward"),
        Turn(("You see a wall 1 step forward",)),
    ]
    expected = (
        HEAD
        + "Observation 0: You see a wall 2 steps forward, You see a red ball 1 step left, \n "
        + "Action 0: turn left \n "
        + "Observation 1: You see a red ball 1 step forward, \n "
        + "Action 1: go forward \n "
        + "Observation 2: You see a wall 1 step forward, \n "
        + "Action 2: "
    )
    assert GlamTemplate()("go to the red ball", turns, ACTIONS) == expected


def test_history_keeps_three_observations_and_two_actions():
    history = PromptHistory(3)
    for step in range(5):
        history.observe((f"obs {step}",))
        history.act(f"act {step}")
    history.observe(("obs 5",))
    turns = history.turns
    assert [t.descriptions for t in turns] == [("obs 3",), ("obs 4",), ("obs 5",)]
    assert [t.action for t in turns] == ["act 3", "act 4", None]
    with pytest.raises(RuntimeError):
        history.observe(("twice",))
    with pytest.raises(ValueError):
        PromptHistory(0)


def test_prompt_env_clears_history_at_episode_end():
    env = PromptObservation(make("BabyAIText-GoTo-v0", room_size=5, num_dists=1), history=3)
    first, _ = env.reset(seed=3)
    assert first.startswith(HEAD.split("Goal")[0]) and first.endswith("Action 0: ")
    for action in (0, 1, 0):  # turn left, turn right, turn left: the window keeps the last two actions
        prompt, *_ = env.step(action)
    assert "Observation 2:" in prompt and "Observation 3:" not in prompt
    assert "Action 0: turn right \n" in prompt and "Action 1: turn left \n" in prompt
    again, _ = env.reset(seed=3)
    assert again == first  # nothing of the previous episode survives the reset


def test_variant_headers_and_actions_reach_the_prompt():
    env = PromptObservation(make("BabyAIText-GoTo-v0", variant="french", room_size=5, num_dists=1))
    prompt, _ = env.reset(seed=0)
    headers = variant_prompt_headers("french")
    assert prompt.startswith(headers["actions"]) and f"{headers['observation']} 0:" in prompt
    assert env.action_names != ACTIONS and ", ".join(env.action_names) in prompt


def test_chat_template_requires_a_chat_tokenizer():
    tokenizer = tiny_random_lm("llama").tokenizer
    with pytest.raises(ValueError, match="no chat template"):
        ChatTemplate(tokenizer)
    tokenizer.chat_template = "{% for m in messages %}<user>{{ m['content'] }}</user>{% endfor %}<bot>"
    prompt = ChatTemplate(tokenizer)("go to the red ball", [Turn(("You see a wall 1 step forward",))], ACTIONS)
    assert prompt.startswith("<user>Possible action of the agent:") and prompt.endswith("Action 0: </user><bot>")
