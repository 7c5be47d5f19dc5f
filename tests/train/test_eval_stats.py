"""Evaluation statistics against hand computations and textbook values."""

import math

import pytest

from llmrl.eval.stats import episode_seeds, mean_ci, student_t_quantile, success_rate_ci


def test_wilson_interval_known_values():
    # 8/10 at 95%: the textbook Wilson interval (0.4902, 0.9433).
    rate, low, high = success_rate_ci([True] * 8 + [False] * 2, confidence=0.95)
    assert rate == 0.8
    assert low == pytest.approx(0.490162, abs=1e-6) and high == pytest.approx(0.943318, abs=1e-6)
    # 0/n: the lower bound is 0 and the upper is z^2 / (n + z^2), z = 2.5758 at 99%.
    z2 = 2.5758293035489004**2
    assert success_rate_ci([0] * 10) == pytest.approx((0.0, 0.0, z2 / (10 + z2)))
    # 1/1 at 99% by hand: center = (1 + z^2/2)/(1 + z^2), half = z/(1+z^2) * sqrt(z^2/4).
    center = (1 + z2 / 2) / (1 + z2)
    half = math.sqrt(z2) / (1 + z2) * math.sqrt(z2 / 4)
    assert success_rate_ci([1]) == pytest.approx((1.0, center - half, 1.0))


def test_t_quantiles_and_mean_ci():
    assert student_t_quantile(0.95, 1) == pytest.approx(12.7062047, rel=1e-7)
    assert student_t_quantile(0.95, 2) == pytest.approx(0.95 / math.sqrt(2 * 0.975 * 0.025), rel=1e-12)
    assert student_t_quantile(0.99, 4) == pytest.approx(4.6040949, rel=1e-7)
    assert student_t_quantile(0.95, 30) == pytest.approx(2.0422725, rel=1e-7)
    mean, low, high = mean_ci([1.0, 2.0, 3.0, 4.0], confidence=0.95)
    half = 3.1824463 * math.sqrt(5 / 3) / 2  # t_{0.975,3} * s / sqrt(n)
    assert (mean, low, high) == pytest.approx((2.5, 2.5 - half, 2.5 + half), rel=1e-7)
    single = mean_ci([7.0])
    assert single[0] == 7.0 and math.isnan(single[1]) and math.isnan(single[2])


def test_episode_seeds_follow_the_reference():
    assert episode_seeds(2, 3) == [2_000_000_000, 2_000_000_001, 2_000_000_002]
    assert episode_seeds(0, 0) == []


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: success_rate_ci([]), "at least one episode"),
        (lambda: success_rate_ci([0, 2]), "bools or 0/1 ints"),
        (lambda: success_rate_ci([1], confidence=99), r"confidence must be in \(0, 1\)"),
        (lambda: mean_ci([]), "at least one value"),
        (lambda: episode_seeds(-1, 3), "non-negative int"),
        (lambda: episode_seeds(1, 2.5), "n must be a non-negative int"),
    ],
)
def test_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()
