"""The one backoff rule: exponential steps, a cap, and jitter within the promised range."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from calisera.core.backoff import Backoff


def test_steps_double_from_base_until_the_cap():
    backoff = Backoff(base=1.0, cap=30.0)
    assert [backoff.step(n) for n in range(1, 8)] == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_without_jitter_the_delay_is_the_step():
    backoff = Backoff(base=0.2, cap=5.0)
    assert [backoff.delay(n) for n in (1, 2, 3, 6)] == [0.2, 0.4, 0.8, 5.0]


def test_attempt_zero_or_below_counts_as_the_first_retry():
    assert Backoff(base=0.5).delay(0) == Backoff(base=0.5).delay(-3) == 0.5


def test_thousands_of_failures_wait_the_cap_instead_of_overflowing():
    assert Backoff(base=0.5, cap=300.0).step(100_000) == 300.0
    assert Backoff(base=0.5).step(100_000) == math.inf
    assert Backoff(base=0.0).step(100_000) == 0.0


def test_full_jitter_spreads_delays_between_zero_and_the_step():
    rng = random.Random(12)
    backoff = Backoff(base=1.0, jitter=1.0, random=rng.random)
    delays = [backoff.delay(4) for _ in range(2000)]  # step 8
    assert all(0.0 <= d <= 8.0 for d in delays)
    assert min(delays) < 0.5 and max(delays) > 7.5  # the whole range is used


def test_half_jitter_never_comes_back_before_half_the_step():
    rng = random.Random(7)
    backoff = Backoff(base=0.5, cap=300.0, jitter=0.5, random=rng.random)
    delays = [backoff.delay(3) for _ in range(2000)]  # step 2
    assert all(1.0 <= d <= 2.0 for d in delays)
    assert min(delays) < 1.05 and max(delays) > 1.95


@pytest.mark.parametrize(
    "arguments",
    [
        {"base": -1.0},
        {"base": 1.0, "cap": -1.0},
        {"base": 1.0, "factor": 0.5},
        {"base": 1.0, "jitter": 1.5},
        {"base": 1.0, "jitter": -0.1},
    ],
)
def test_nonsense_parameters_are_refused(arguments):
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**arguments)


@given(
    base=st.floats(0.0, 100.0),
    cap=st.floats(0.0, 1000.0),
    factor=st.floats(1.0, 10.0),
    jitter=st.floats(0.0, 1.0),
    attempt=st.integers(1, 5000),
    draw=st.floats(0.0, 1.0, exclude_max=True),
)
def test_delays_stay_within_jitter_of_a_capped_nondecreasing_step(
    base, cap, factor, jitter, attempt, draw
):
    backoff = Backoff(base=base, cap=cap, factor=factor, jitter=jitter, random=lambda: draw)
    step = backoff.step(attempt)
    assert step <= cap
    assert backoff.step(attempt + 1) >= step
    assert step * (1 - jitter) - 1e-9 <= backoff.delay(attempt) <= step
