"""Turning an LLM's free-text answer into a clean goal list.

The answer is expected as a bullet list (`- chop tree`), but small models also write
`* Chop tree.`, `1) chop tree`, `- You should chop tree to get wood`, or prose. Only
bullet or numbered lines are read; each is cleaned to a short lower-case goal. An
answer that yields no goal is a parse failure (None), which callers count and never
cache as a goal list.
"""

import re
from collections.abc import Iterable

from llmrl.envs.crafter_text import canonical_goal

# A list marker: -, *, +, bullet dot, or a number/letter with `.` or `)`, then the item.
_BULLET = re.compile(r"^\s*(?:[-*+\u2022]|\(?\d{1,2}[.)]|\(?[a-z][.)])\s+(?P<item>.+)$", re.IGNORECASE)
# Polite or first-person lead-ins that are not part of the goal itself.
_LEAD_INS = re.compile(
    r"^(?:(?:you|i|we)\s+(?:should|could|can|must|need to|would|will)\s+|(?:try|go|let's|lets)\s+(?:to\s+)?|to\s+)",
    re.IGNORECASE,
)
# Where an explanation after the goal begins: `chop tree: for wood`, `(to get wood)`, `chop tree - wood`.
_EXPLANATION = re.compile(
    r"\s*(?:[:(\[]|\s-\s|,|;|\s(?:to get|to make|to collect|so that|because|in order|for)\s).*$", re.IGNORECASE
)
_MAX_WORDS = 6


def clean_goal(item: str) -> str | None:
    """One list item as a goal (`**Chop Tree.**` -> `chop tree`), or None when it is not one."""
    text = item.replace("*", "").replace("`", "").replace('"', "").strip()
    text = _EXPLANATION.sub("", text)
    text = _LEAD_INS.sub("", text.strip())
    text = " ".join(text.lower().strip(" .!?'").split())
    if not text or len(text.split()) > _MAX_WORDS or not re.fullmatch(r"[a-z][a-z _'-]*", text):
        return None
    return text


def parse_goal_list(answer: str) -> list[str] | None:
    """Goals of a bullet-list answer in order, de-duplicated; None when there are none."""
    if not isinstance(answer, str):
        raise TypeError(f"answer must be a str, got {type(answer).__name__}")
    goals = []
    for line in answer.splitlines():
        match = _BULLET.match(line)
        goal = clean_goal(match.group("item")) if match else None
        if goal is not None:
            goals.append(goal)
    goals = dedupe_goals(goals)
    return goals or None


def dedupe_goals(goals: Iterable[str], achieved: Iterable[str] = (), limit: int | None = None) -> list[str]:
    """`goals` lower-cased, without repeats or `achieved` goals; aliases count as one goal.

    The first spelling of a goal is kept ("make crafting table" stays as written even
    though it is the same goal as "place crafting table"). With `limit`, stops at that many.
    """
    seen = {canonical_goal(a) for a in achieved}
    out: list[str] = []
    for goal in goals:
        if limit is not None and len(out) >= limit:
            break
        key = canonical_goal(goal)
        if key and key not in seen:
            seen.add(key)
            out.append(" ".join(goal.lower().split()))
    return out
