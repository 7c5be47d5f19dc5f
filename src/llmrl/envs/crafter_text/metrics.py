"""Crafter's metrics, shared by training and evaluation: achievements per episode, success rates, score.

Crafter score (Hafner 2021): S = exp(mean_i ln(1 + s_i)) - 1, s_i the success rate in percent of
achievement i over episodes, the mean over all 22 achievements (a geometric mean that rewards
unlocking rare achievements at all).
"""

import math
from collections.abc import Iterable, Mapping, Sequence

from crafter import constants

ACHIEVEMENTS: tuple[str, ...] = tuple(constants.achievements)


def episode_achievements(counts: Mapping[str, int]) -> frozenset[str]:
    """The achievements unlocked in an episode, from its final `info['achievements']` counts."""
    unknown = set(counts) - set(ACHIEVEMENTS)
    if unknown:
        raise ValueError(f"unknown achievements {sorted(unknown)}; accepted: {ACHIEVEMENTS}")
    return frozenset(name for name, count in counts.items() if count > 0)


def success_rates(episodes: Sequence[Iterable[str]]) -> dict[str, float]:
    """Percent of `episodes` (each: the achievements it unlocked) that unlocked each achievement."""
    if not episodes:
        raise ValueError("success_rates needs at least one episode")
    unlocked = [set(episode) for episode in episodes]
    unknown = set().union(*unlocked) - set(ACHIEVEMENTS)
    if unknown:
        raise ValueError(f"unknown achievements {sorted(unknown)}; accepted: {ACHIEVEMENTS}")
    return {name: 100.0 * sum(name in ep for ep in unlocked) / len(unlocked) for name in ACHIEVEMENTS}


def crafter_score(rates: Mapping[str, float]) -> float:
    """S = exp(mean over the 22 achievements of ln(1 + rate%)) - 1; missing achievements count 0%."""
    bad = {name: rate for name, rate in rates.items() if name not in ACHIEVEMENTS or not 0 <= rate <= 100}
    if bad:
        raise ValueError(f"rates must be percents in [0, 100] keyed by crafter achievements; bad: {bad}")
    return math.exp(sum(math.log1p(rates.get(name, 0.0)) for name in ACHIEVEMENTS) / len(ACHIEVEMENTS)) - 1


def achievements_per_episode(episodes: Sequence[Iterable[str]]) -> float:
    """Mean number of distinct achievements unlocked per episode (the ELLM paper's curve)."""
    if not episodes:
        raise ValueError("achievements_per_episode needs at least one episode")
    return sum(len(set(episode)) for episode in episodes) / len(episodes)
