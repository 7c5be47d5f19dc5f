"""The candidate contract and text clean-up: no game package needed."""

import pytest

from llmrl.envs.text_games.common import CHARSET, candidates, observation_space, tidy, to_charset
from llmrl.envs.text_games.textworld_env import clean_feedback


def test_candidates_reads_and_checks_admissible_commands():
    assert candidates({"admissible_commands": ["go east", "look"]}) == ["go east", "look"]
    for bad in ({}, {"admissible_commands": []}, {"admissible_commands": "look"}, {"admissible_commands": [""]}):
        with pytest.raises(ValueError):
            candidates(bad)


def test_to_charset_keeps_text_inside_the_observation_space():
    text = to_charset("Caf\u00e9 \u2014 na\u00efve\r\nline\u2603")
    assert text == "Cafe ? naive\nline?"
    assert all(c in CHARSET for c in text) and observation_space().contains(text)
    assert len(to_charset("x" * 20000)) == observation_space().max_length
    assert tidy("\n a\n\n\n\nb \n") == "a\n\nb"


def test_clean_feedback_drops_banner_and_status_prompt():
    raw = (
        "\n\n                    ________  ________\n                   |        \\|        \\\n"
        "                      | $$   | $$  \\     >$$  $$    | $$\n\n"
        "Welcome! Go east.\n\n-= Attic =-\nAn attic.\n\n\n\n>          -= Attic =-0/1"
    )
    assert clean_feedback(raw) == "Welcome! Go east.\n\n-= Attic =-\nAn attic."
    assert clean_feedback("\nYou take the key.\n\n\n>   -= Attic =-0/3") == "You take the key."
