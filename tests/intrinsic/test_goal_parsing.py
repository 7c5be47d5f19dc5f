"""Parsing of varied and malformed LLM answers into goal lists."""

import pytest

from llmrl.intrinsic import dedupe_goals, parse_goal_list


@pytest.mark.parametrize(
    "answer, goals",
    [
        ("- chop tree\n- drink water", ["chop tree", "drink water"]),
        ("* Chop Tree.\n+ DRINK WATER!", ["chop tree", "drink water"]),
        ("1. mine stone\n2) make wood pickaxe\n(3) place stone", ["mine stone", "make wood pickaxe", "place stone"]),
        ("- chop tree\n- chop tree.\n- Chop tree", ["chop tree"]),
        ("- You should chop tree to get wood\n- I would drink water", ["chop tree", "drink water"]),
        ("- **eat cow** (it is close)\n- mine stone: needs a pickaxe", ["eat cow", "mine stone"]),
        ("Sure! Here is my plan:\n- eat plant\nThat is all.", ["eat plant"]),
        (
            "- make crafting table\n- place crafting table\n- attack cow\n- eat cow",
            ["make crafting table", "attack cow"],
        ),
        ("  -   sleep  ", ["sleep"]),
    ],
)
def test_bullet_lists_are_cleaned_lower_cased_and_deduplicated(answer, goals):
    assert parse_goal_list(answer) == goals


@pytest.mark.parametrize(
    "answer",
    [
        "",
        "\n\n",
        "You should chop tree.",  # no bullet: not a list
        "- \n- ...\n- 42",  # bullets without a goal
        "- I think the best idea is to walk around and look at the whole map for a while",  # prose, too long
    ],
)
def test_answers_without_goals_are_parse_failures(answer):
    assert parse_goal_list(answer) is None


def test_non_string_answer_is_rejected():
    with pytest.raises(TypeError, match="answer must be a str"):
        parse_goal_list(None)


def test_dedupe_drops_achieved_goals_and_their_aliases():
    goals = ["Chop Tree", "make crafting table", "eat cow", "drink water", "chop tree"]
    # "place crafting table" achieved removes its alias "make crafting table"; "attack cow" removes "eat cow".
    assert dedupe_goals(goals, achieved={"place crafting table", "attack cow"}) == ["chop tree", "drink water"]


def test_dedupe_limit_counts_kept_goals_not_inputs():
    goals = ["chop tree", "Chop tree", "eat cow", "attack cow", "drink water", "sleep"]
    assert dedupe_goals(goals, limit=2) == ["chop tree", "eat cow"]
    assert dedupe_goals(goals, achieved={"chop tree"}, limit=2) == ["eat cow", "drink water"]
    assert dedupe_goals(goals, limit=10) == dedupe_goals(goals)
