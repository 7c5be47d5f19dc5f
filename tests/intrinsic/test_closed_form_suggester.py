"""Closed-form suggester: yes/no scores equal naive per-goal scoring; threshold, top-k, memo, disk cache."""

import numpy as np
import pytest
import torch

from llmrl.intrinsic import ClosedFormSuggester, GoalContext
from llmrl.intrinsic.closed_form import ANSWERS
from llmrl.intrinsic.prompts import yes_no_preamble, yes_no_prompt
from llmrl.lm import tiny_random_lm

WORDS = ["yes", "no", "should", "question", "answer", "survival", "game", "playing", "crafter", "targeting", "crafting"]
GOALS = ["chop tree", "drink water", "eat cow", "mine stone"]
CONTEXTS = [
    GoalContext("You see tree and water. You are targeting tree.", "You have nothing in your inventory."),
    GoalContext(
        "You see cow and stone. You are targeting cow.", "You have in your inventory wood.", "You feel hungry."
    ),
]


class CountingLM:
    """Wraps a LanguageModel, counts score calls and keeps the last call's keyword arguments."""

    def __init__(self, lm):
        self.lm, self.name, self.dtype, self.calls, self.kwargs = lm, lm.name, lm.dtype, 0, {}

    def score(self, *args, **kwargs):
        self.calls += 1
        self.kwargs = kwargs
        return self.lm.score(*args, **kwargs)


@pytest.fixture(scope="module")
def lm():
    return tiny_random_lm(seed=3, extra_words=WORDS)


def test_probabilities_equal_naive_scoring_goal_by_goal(lm):
    # The suggester scores "question + answer" candidates after one shared state prefix; the
    # question's log-prob cancels in the yes/no ratio, so it must equal the per-goal formulation:
    # the whole question as the prompt, " yes" / " no" as the only candidates, scored naively.
    counting = CountingLM(lm)
    suggester = ClosedFormSuggester(counting, GOALS)
    probs = suggester.probabilities([c.text for c in CONTEXTS])
    assert probs.shape == (2, 4) and counting.calls == 1
    # The preamble's keys and values were computed once and read by both states.
    assert counting.kwargs["prefix"] == yes_no_preamble() and len(lm._prefixes) == 1
    assert len(suggester.candidates) == 2 * len(GOALS)  # one prefix per state, 2 candidates per goal
    for i, context in enumerate(CONTEXTS):
        for j, goal in enumerate(GOALS):
            yes, no = lm.score([yes_no_prompt(context.text, goal)], [ANSWERS], method="naive")[0]
            expected = torch.exp(yes) / (torch.exp(yes) + torch.exp(no))
            assert probs[i, j] == pytest.approx(float(expected), abs=1e-5)


def test_threshold_and_top_k_select_from_the_same_probabilities(lm):
    probs = ClosedFormSuggester(lm, GOALS).probabilities([CONTEXTS[0].text])[0]
    cut = float(np.median(probs))
    above = ClosedFormSuggester(lm, GOALS, threshold=cut).suggest(CONTEXTS[:1])[0]
    assert set(above) == {g for g, p in zip(GOALS, probs, strict=True) if p > cut}
    assert above == sorted(above, key=lambda g: -probs[GOALS.index(g)])  # most likely first
    top2 = ClosedFormSuggester(lm, GOALS, top_k=2).suggest(CONTEXTS[:1])[0]
    assert top2 == [GOALS[j] for j in np.argsort(-probs)[:2]]


def test_top_k_skips_achieved_goals(lm):
    probs = ClosedFormSuggester(lm, GOALS).probabilities([CONTEXTS[0].text])[0]
    best = GOALS[int(np.argmax(probs))]
    context = GoalContext(CONTEXTS[0].caption, CONTEXTS[0].inventory, achieved=frozenset({best}))
    goals = ClosedFormSuggester(lm, GOALS, top_k=2).suggest([context])[0]
    assert best not in goals and len(goals) == 2


def test_repeated_state_costs_no_model_call_and_disk_cache_survives(lm, tmp_path):
    counting = CountingLM(lm)
    suggester = ClosedFormSuggester(counting, GOALS, threshold=0.0, cache_path=tmp_path / "qa.sqlite")
    first = suggester.suggest(CONTEXTS)
    assert counting.calls == 1  # every question of the batch in one score call
    assert suggester.suggest(CONTEXTS) == first and counting.calls == 1
    assert suggester.stats()["cache_hit_rate"] == pytest.approx(0.5)
    fresh = CountingLM(lm)
    reloaded = ClosedFormSuggester(fresh, GOALS, threshold=0.0, cache_path=tmp_path / "qa.sqlite")
    assert reloaded.suggest(CONTEXTS) == first and fresh.calls == 0
    assert reloaded.stats()["cache_hit_rate"] == 1.0
    # Answers of bfloat16 weights differ from float32 ones: they are not read from the same entries.
    half = CountingLM(lm)
    half.dtype = torch.bfloat16
    ClosedFormSuggester(half, GOALS, threshold=0.0, cache_path=tmp_path / "qa.sqlite").suggest(CONTEXTS)
    assert half.calls == 1


@pytest.mark.parametrize(
    "kwargs, message",
    [({"threshold": 1.5}, "threshold"), ({"top_k": 9}, "top_k"), ({"goals": ["a", "a"]}, "distinct")],
)
def test_bad_settings_are_rejected(lm, kwargs, message):
    with pytest.raises(ValueError, match=message):
        ClosedFormSuggester(lm, **({"goals": GOALS} | kwargs))


def test_yes_no_prompt_gives_worked_answers_before_the_state():
    from llmrl.intrinsic.prompts import YES_NO_EXAMPLES, yes_no_state_prompt

    prompt = yes_no_state_prompt("You see water. You are targeting water.")
    # The preamble ends at a newline, so BPE tokenizers never merge it with the state's first word.
    assert prompt == yes_no_preamble() + "You see water. You are targeting water.\nQuestion: Should you"
    assert yes_no_preamble().endswith("Answer: no\n")
    assert {answer for _, _, answer in YES_NO_EXAMPLES} == {"yes", "no"}
    for state, goal, answer in YES_NO_EXAMPLES:
        assert f"{state}\nQuestion: Should you {goal}?\nAnswer: {answer}\n" in prompt


def test_answer_cache_key_is_stable():
    # Pinned: a new key would make every existing answer cache (runs in progress included) miss.
    suggester = ClosedFormSuggester(tiny_random_lm(seed=3), ["chop tree", "drink water"])
    key = suggester._key("You see tree and water. You are targeting tree.")
    assert key == "f39629dbce317891e0c5607c1db816aa60a5a3559421d7d32218cb5efb7c0e4c"
