"""Interleaved timing of several contenders on the same case.

A contender is anything with a ``name`` and ``sample(calls, settle) -> seconds per call``
(a :class:`~.worker.Remote`: the worker times ``calls`` back-to-back calls itself, so the
messages to and from it are not in the time). ``calls`` is chosen so that a sample lasts at
least ``min_sample_s`` (1 for large arrays). One *round* takes one sample of every contender,
in an order rotated each round, so slow drifts of the machine (the memory
bandwidth of a shared virtual machine can move between 20 and 69 GB/s within minutes) hit every contender alike. The
bandwidth kernel is one of the contenders and is also sampled right before the first and
right after the last round.

With worker threads, a sample of few calls shorter than :data:`SETTLE_MAX_S` is preceded by
one untimed call of the same contender (``settle``), so that the timed calls find its threads
awake and its buffers in their steady state, as in a training loop, rather than the wake-up
after the previous one (up to a scheduler tick, 4 ms, on a busy machine: nothing next to a
longer call, which is therefore not doubled).

Rounds continue until ``min_rounds`` are done and the case has used its time ``budget_s``;
while some contender's interquartile range is above 10% of its median, up to three times the
budget (never beyond ``max_rounds``). Contenders so slow that ``min_rounds`` would take more
than five budgets stop after three rounds.
"""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

# Slow contenders (seconds per call) stop at this many rounds once the case used 5 budgets.
SLOW_MIN_ROUNDS = 3
SETTLE_MAX_S = 0.05


@dataclass
class Settings:
    min_rounds: int = 7
    max_rounds: int = 51
    budget_s: float = 0.4
    min_sample_s: float = 2e-3
    max_calls: int = 200_000
    gap_s: float = 0.0  # sleep before each sample (lets other runtimes' spinning threads settle)
    settle: bool = False  # with worker threads: one untimed call before a short sample


@dataclass
class Timing:
    samples: list = field(default_factory=list)  # seconds per call
    calls: int = 1
    estimate: float = math.nan  # seconds per call, from the calibration
    before: float = math.nan  # stream only: sample right before the first round
    after: float = math.nan  # and right after the last one
    error: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples) if self.samples else math.nan

    @property
    def min(self) -> float:
        return min(self.samples) if self.samples else math.nan

    @property
    def max(self) -> float:
        return max(self.samples) if self.samples else math.nan

    def quartiles(self) -> tuple[float, float]:
        s = sorted(self.samples)
        if len(s) < 4:
            return (s[0], s[-1]) if s else (math.nan, math.nan)
        q = statistics.quantiles(s, n=4, method="inclusive")
        return q[0], q[2]

    @property
    def spread(self) -> float:
        """Interquartile range relative to the median."""
        lo, hi = self.quartiles()
        m = self.median
        return (hi - lo) / m if m and m == m else math.nan


def calibrate(contender: Any, st: Settings) -> tuple[int, float]:
    """Calls per sample and the estimated seconds per call (also the warm-up).

    The per-call time is the minimum of three single calls (robust to one slow call, e.g. a
    thread wake-up; one call is enough when it is long) and, for short calls, of a short
    batch (the timer's own overhead is then amortised).
    """
    t = contender.sample(1, False)
    if t < 10 * st.min_sample_s:
        t = min(t, contender.sample(1, False), contender.sample(1, False))
    k = math.ceil(st.min_sample_s / max(t, 1e-9))
    if k > 1:
        t = min(t, contender.sample(max(1, min(k, 1000)), False))
        k = math.ceil(st.min_sample_s / max(t, 1e-9))
    return max(1, min(st.max_calls, k)), t


def measure(contenders: list, st: Settings, stream: Any = None) -> dict[str, Timing]:
    """Time contenders in interleaved rounds.

    Parameters
    ----------
    contenders : list
        Objects with ``name`` and ``sample(calls, settle)``.
    st : Settings
        Rounds, budget, sample length, settle and gap.
    stream : optional
        The bandwidth kernel, sampled in every round and also right before the first and
        right after the last.

    Returns
    -------
    dict of str to Timing
        Per contender name: its samples (seconds per call), calls per sample, and the error
        that stopped it, if any.
    """
    everyone = list(contenders) + ([stream] if stream is not None else [])
    timings: dict[str, Timing] = {}
    live: list = []
    for c in everyone:
        tm = Timing()
        timings[c.name] = tm
        try:
            tm.calls, tm.estimate = calibrate(c, st)
            live.append(c)
        except Exception as exc:
            tm.error = f"{type(exc).__name__}: {exc}"

    def sample(c: Any) -> float | None:
        tm = timings[c.name]
        if st.gap_s > 0:
            time.sleep(st.gap_s)
        try:
            t = c.sample(tm.calls, st.settle and tm.calls <= 4 and tm.estimate < SETTLE_MAX_S)
        except Exception as exc:
            tm.error = f"{type(exc).__name__}: {exc}"
            live.remove(c)
            return None
        tm.samples.append(t)
        return t

    if stream is not None and stream in live:
        t = sample(stream)
        timings[stream.name].before = t if t is not None else math.nan

    start = time.perf_counter()
    rounds = 0
    while live:
        shift = rounds % len(live)
        for c in live[shift:] + live[:shift]:
            if c in live:
                sample(c)
        rounds += 1
        elapsed = time.perf_counter() - start
        if rounds >= st.max_rounds:
            break
        if rounds < st.min_rounds and not (rounds >= SLOW_MIN_ROUNDS and elapsed >= 5 * st.budget_s):
            continue
        if elapsed < st.budget_s:
            continue
        unstable = any(timings[c.name].spread > 0.10 for c in live)
        if unstable and elapsed < 3 * st.budget_s:
            continue
        break

    if stream is not None and stream in live:
        t = sample(stream)
        timings[stream.name].after = t if t is not None else math.nan
    return timings
