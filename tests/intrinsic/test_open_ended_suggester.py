"""Open-ended suggester: parsing through a backend, memo and persistent cache, failures, stats."""

import pytest

from llmrl.intrinsic import GoalContext, OpenEndedSuggester, OracleSuggester
from llmrl.intrinsic.prompts import FEW_SHOT_EXAMPLES, open_ended_prompt
from llmrl.lm import tiny_random_lm
from llmrl.lm.generation_cache import GenerationCache

TREE = GoalContext("You see tree and water. You are targeting tree.", feasible=("chop tree", "drink water"))
COW = GoalContext("You see cow. You are targeting cow.", feasible=("eat cow", "attack cow"))


class ScriptedBackend:
    """Answers each prompt with the reply of the first key found in it; counts prompts."""

    def __init__(self, replies: dict[str, str]):
        self.replies, self.prompts, self.kwargs = replies, [], None

    def generate(self, prompts, **kwargs):
        self.prompts += prompts
        self.kwargs = kwargs
        state = [p.rsplit("\n\n", 1)[-1] for p in prompts]  # the part after the few-shot examples
        return [[next(r for k, r in self.replies.items() if k in s)] for s in state]


def test_prompt_has_verbs_examples_state_and_question():
    prompt = open_ended_prompt(TREE.text)
    assert prompt.startswith("Valid actions: eat, attack, chop, mine, drink, sleep, place, make.")
    assert prompt.count("- ") >= sum(len(goals) for _, goals in FEW_SHOT_EXAMPLES)
    assert prompt.endswith(f"\n{TREE.text}\nWhat are the best things to do next?\n")


def test_goals_are_parsed_filtered_and_memoized():
    backend = ScriptedBackend({"tree": "- Chop tree.\n- drink water\n- dance wildly\n- chop tree", "cow": "- eat cow"})
    suggester = OpenEndedSuggester(backend)
    assert suggester.suggest([TREE, COW]) == [["chop tree", "drink water"], ["eat cow"]]  # "dance": not a valid verb
    assert backend.kwargs["stop"] == ["\n\n"] and backend.kwargs["temperature"] == pytest.approx(0.1)
    achieved = GoalContext(TREE.caption, achieved=frozenset({"chop tree"}), feasible=TREE.feasible)
    assert suggester.suggest([achieved]) == [["drink water"]]
    assert len(backend.prompts) == 2  # the second query was answered from the memo
    stats = suggester.stats()
    assert stats["queries"] == 3 and stats["llm_prompts"] == 2 and stats["cache_hit_rate"] == pytest.approx(1 / 3)
    # 4 goals suggested, all feasible; feasible: 2 + 1 (eat cow = attack cow) + 1 (chop tree achieved).
    assert stats["feasible_share"] == 1.0
    assert stats["feasible_coverage"] == pytest.approx(4 / 4)


def test_parse_failures_are_counted_and_never_memoized():
    backend = ScriptedBackend({"tree": "I am not sure what to do.", "cow": ""})
    suggester = OpenEndedSuggester(backend)
    assert suggester.suggest([TREE, COW]) == [[], []]
    assert suggester.suggest([TREE]) == [[]]
    assert len(backend.prompts) == 3  # asked again: a failure is not a goal list
    assert suggester.stats()["parse_failures"] == 3


def test_quality_statistics_against_the_oracle():
    suggester = OpenEndedSuggester(ScriptedBackend({"tree": "- chop tree\n- mine stone\n- eat cow"}))
    suggester.suggest([TREE])
    stats = suggester.stats()
    assert stats["feasible_share"] == pytest.approx(1 / 3)  # only "chop tree" is feasible
    assert stats["feasible_coverage"] == pytest.approx(1 / 2)  # "drink water" was missed
    assert stats["goals_per_query"] == 3


def test_persistent_cache_answers_a_new_suggester_without_generation(tmp_path):
    lm = tiny_random_lm(seed=1)
    first = OpenEndedSuggester(lm, verbs=None, max_new_tokens=6, cache=GenerationCache(tmp_path / "gen.sqlite"))
    goals = first.suggest([TREE])
    second = OpenEndedSuggester(lm, verbs=None, max_new_tokens=6, cache=GenerationCache(tmp_path / "gen.sqlite"))
    assert second.suggest([TREE]) == goals
    stats = second.stats()
    assert stats["llm_prompts"] == 1 and stats["cache_hit_rate"] == 1.0


def test_oracle_returns_feasible_goals_minus_achieved():
    oracle = OracleSuggester()
    cow = GoalContext(COW.caption, achieved=frozenset({"eat cow"}), feasible=("eat cow", "attack cow", "chop tree"))
    assert oracle.suggest([TREE, cow]) == [["chop tree", "drink water"], ["chop tree"]]
    assert oracle.stats()["feasible_share"] == 1.0 and oracle.stats()["feasible_coverage"] == 1.0
    with pytest.raises(ValueError, match="feasible"):
        oracle.suggest([GoalContext("You see nothing.")])


def test_backend_without_generate_is_rejected():
    with pytest.raises(TypeError, match="generate"):
        OpenEndedSuggester(object())
