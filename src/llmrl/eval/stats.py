"""Evaluation statistics: success rates and means with confidence intervals, evaluation seeds."""

from __future__ import annotations

import math
from collections.abc import Iterable
from statistics import NormalDist


def success_rate_ci(successes: Iterable[bool | int], confidence: float = 0.99) -> tuple[float, float, float]:
    """Success rate of Bernoulli outcomes with its Wilson score interval: (rate, low, high).

    With k successes in n episodes, p = k/n and z the two-sided normal quantile,

        center = (p + z^2 / 2n) / (1 + z^2 / n)
        half   = z / (1 + z^2 / n) * sqrt(p (1 - p) / n + z^2 / 4n^2)

    Unlike the normal (Wald) interval p +- z sqrt(p(1-p)/n), Wilson's stays inside [0, 1]
    and does not collapse to zero width when p is 0 or 1 (Wilson 1927).
    """
    outcomes = list(successes)
    _check_confidence(confidence)
    if not outcomes:
        raise ValueError("success_rate_ci needs at least one episode outcome")
    bad = [o for o in outcomes if o not in (0, 1) or isinstance(o, float)]
    if bad:
        raise ValueError(f"successes must be bools or 0/1 ints, got {bad[:5]!r}")
    n = len(outcomes)
    p = sum(outcomes) / n
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    denom = 1 + z * z / n
    center = (p + z * z / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return p, max(0.0, center - half), min(1.0, center + half)


def mean_ci(values: Iterable[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean with its Student-t confidence interval: (mean, low, high).

    mean +- t_{(1+confidence)/2, n-1} * s / sqrt(n), with s the sample standard deviation.
    With a single value the interval is undefined and both bounds are NaN.
    """
    xs = [float(v) for v in values]
    _check_confidence(confidence)
    if not xs:
        raise ValueError("mean_ci needs at least one value")
    n = len(xs)
    mean = sum(xs) / n
    if n == 1:
        return mean, math.nan, math.nan
    std = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1))
    half = student_t_quantile(confidence, n - 1) * std / math.sqrt(n)
    return mean, mean - half, mean + half


def student_t_quantile(confidence: float, df: int) -> float:
    """The t such that P(|T| <= t) = confidence for Student's t with integer `df` degrees of freedom."""
    _check_confidence(confidence)
    if df < 1:
        raise ValueError(f"degrees of freedom must be >= 1, got {df}")
    low, high = 0.0, 1.0
    while _t_central_mass(high, df) < confidence:
        high *= 2
    for _ in range(64):  # bisection: 64 halvings reach float precision
        mid = (low + high) / 2
        if _t_central_mass(mid, df) < confidence:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _t_central_mass(t: float, df: int) -> float:
    """P(|T| <= t) for integer df, in closed form (Abramowitz & Stegun 26.7.3-4).

    With theta = atan(t / sqrt(df)), s = sin(theta), c = cos(theta):
      odd df:  (2/pi) (theta + s c (1 + 2/3 c^2 + (2*4)/(3*5) c^4 + ... up to c^(df-3)))
      even df: s (1 + 1/2 c^2 + (1*3)/(2*4) c^4 + ... up to c^(df-2))
    """
    theta = math.atan(t / math.sqrt(df))
    s, c2 = math.sin(theta), math.cos(theta) ** 2
    term, series = 1.0, 1.0
    if df % 2 == 1:
        for k in range(1, (df - 1) // 2):
            term *= c2 * (2 * k) / (2 * k + 1)
            series += term
        return 2 / math.pi * (theta + (s * math.cos(theta) * series if df > 1 else 0.0))
    for k in range(1, df // 2):
        term *= c2 * (2 * k - 1) / (2 * k)
        series += term
    return s * series


def episode_seeds(seed: int, n: int) -> list[int]:
    """The seeds of `n` evaluation episodes for run seed `seed`: 1e9 * seed + i, as the reference uses."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    return [10**9 * seed + i for i in range(n)]


def _check_confidence(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), e.g. 0.99, got {confidence}")
