"""Crafter metrics against a hand computation."""

import math

import pytest

from llmrl.envs.crafter_text import metrics


def test_rates_and_score_match_hand_computation():
    counts = [
        {name: 0 for name in metrics.ACHIEVEMENTS} | {"collect_wood": 3, "place_table": 1},
        {name: 0 for name in metrics.ACHIEVEMENTS} | {"collect_wood": 1},
        {name: 0 for name in metrics.ACHIEVEMENTS},
    ]
    episodes = [metrics.episode_achievements(c) for c in counts]
    assert episodes[0] == {"collect_wood", "place_table"}
    rates = metrics.success_rates(episodes)
    assert rates["collect_wood"] == pytest.approx(200 / 3)
    assert rates["place_table"] == pytest.approx(100 / 3)
    assert sum(rates.values()) == pytest.approx(100.0)
    # exp((ln(1 + 66.67) + ln(1 + 33.33) + 20 * ln(1)) / 22) - 1 = exp(7.7506 / 22) - 1
    assert metrics.crafter_score(rates) == pytest.approx(0.422342, abs=1e-6)
    assert metrics.achievements_per_episode(episodes) == pytest.approx(1.0)


def test_score_bounds_and_errors():
    assert metrics.crafter_score({}) == 0.0
    assert metrics.crafter_score({name: 100.0 for name in metrics.ACHIEVEMENTS}) == pytest.approx(100.0)
    assert math.isclose(metrics.crafter_score({"collect_wood": 100.0}), math.exp(math.log(101) / 22) - 1)
    with pytest.raises(ValueError, match="percents"):
        metrics.crafter_score({"collect_wood": 1.5e2})
    with pytest.raises(ValueError, match="unknown achievements"):
        metrics.success_rates([{"fly"}])
    with pytest.raises(ValueError, match="at least one"):
        metrics.success_rates([])
