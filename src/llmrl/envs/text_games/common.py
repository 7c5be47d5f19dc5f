"""What every text game of this package shares: the text spaces, clean-up of game text, the cache.

The candidate contract (any gymnasium env can follow it and be played, benchmarked and
scored the same way):

    observation: str                        (a `gymnasium.spaces.Text`)
    info["admissible_commands"]: list[str]  (the actions worth scoring this step; may change every step)
    info["goal"]: str                       (what the agent is asked to do; "" when the game states none)

`candidates(info)` reads the list and checks it. `CandidatePrompt` is what a PPO env
(`llmrl.envs.text_games.candidate_env.CandidatePromptEnv`) hands the GLAM policy: a prompt
with this step's own candidates.
"""

import os
import re
import string
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces

# Printable ASCII plus newline and tab: what TextWorld and ScienceWorld print once cleaned.
CHARSET = frozenset(string.ascii_letters + string.digits + string.punctuation + " \n\t")
MAX_OBSERVATION_CHARS = 16384
MAX_COMMAND_CHARS = 256
# The action space's random samples (gymnasium's check_env steps with them): words a parser reads.
COMMAND_CHARSET = frozenset(string.ascii_lowercase + string.digits + " ")


def observation_space() -> spaces.Text:
    return spaces.Text(MAX_OBSERVATION_CHARS, min_length=0, charset="".join(sorted(CHARSET)))


def command_space() -> spaces.Text:
    return spaces.Text(MAX_COMMAND_CHARS, min_length=1, charset="".join(sorted(COMMAND_CHARSET)))


def to_charset(text: str, limit: int = MAX_OBSERVATION_CHARS) -> str:
    """`text` within CHARSET and `limit` characters: accents dropped (NFKD), other characters as '?'.

    Carriage returns go; a text longer than `limit` keeps its start (where games put what happened).
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not all(c in CHARSET for c in text):
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(c if c in CHARSET else ("" if unicodedata.combining(c) else "?") for c in decomposed)
    return text[:limit]


_BLANK_LINES = re.compile(r"\n\s*\n(\s*\n)+")


def tidy(text: str) -> str:
    """Runs of blank lines collapsed to one, surrounding whitespace removed."""
    return _BLANK_LINES.sub("\n\n", text).strip()


def candidates(info: dict[str, Any]) -> list[str]:
    """The env's candidate actions for this step: `info["admissible_commands"]`, checked."""
    commands = info.get("admissible_commands")
    if not isinstance(commands, (list, tuple)) or not commands:
        raise ValueError(
            "the env's info has no non-empty 'admissible_commands' list; a candidate env must provide one "
            "at every reset and step (see llmrl.envs.text_games.common)"
        )
    if not all(isinstance(c, str) and c for c in commands):
        raise ValueError(f"admissible_commands must be non-empty strings, got {commands[:5]!r}...")
    return list(commands)


@dataclass(frozen=True)
class CandidatePrompt:
    """A prompt and the candidate actions to score after it (this step's own, in the env's order).

    The GLAM policy (`llmrl.agents.llm_policy.LLMPolicy`) takes it in place of a plain prompt
    string, whose candidates are the policy's fixed `action_names`; action k is `candidates[k]`.
    """

    prompt: str
    candidates: tuple[str, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.prompt, str):
            raise TypeError(f"prompt must be a str, got {type(self.prompt).__name__}")
        if isinstance(self.candidates, str) or not isinstance(self.candidates, Sequence):
            raise TypeError(f"candidates must be a sequence of str, got {type(self.candidates).__name__}")
        object.__setattr__(self, "candidates", tuple(self.candidates))
        if not self.candidates or not all(isinstance(c, str) and c for c in self.candidates):
            raise ValueError(f"candidates must be a non-empty sequence of non-empty str, got {self.candidates[:5]!r}")


def cache_root() -> Path:
    """llmrl's cache ($LLMRL_CACHE_DIR, else ~/.cache/llmrl), as llmrl.lm uses it."""
    return Path(os.environ.get("LLMRL_CACHE_DIR") or Path.home() / ".cache" / "llmrl")


def resolve_command(action: str | int | np.integer, commands: Sequence[str]) -> str:
    """The command an action names: a command string as typed, or an index into `commands`."""
    if isinstance(action, str):
        command = action.strip()
        if not command:
            raise ValueError("empty command")
        return command
    if isinstance(action, (int, np.integer)) and not isinstance(action, bool) and 0 <= action < len(commands):
        return commands[int(action)]
    raise ValueError(f"action must be a command or an index in [0, {len(commands)}), got {action!r}")
