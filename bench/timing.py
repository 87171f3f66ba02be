"""Interleaved timing of several contenders on the same data.

One *sample* is ``k`` back-to-back calls of one contender (``k`` chosen so that
a sample lasts at least ``min_sample_s``; ``k == 1`` for large arrays), divided
by ``k``. One *round* takes one sample of every contender, in an order rotated
each round, so slow drifts of the machine (PERF-NOTES: the memory bandwidth
moves between 20 and 69 GB/s within minutes) hit every contender alike. The
bandwidth kernel is one of the contenders and is also sampled right before the
first and right after the last round.

With worker threads, a sample of few (long) calls is preceded by one untimed
call of the same contender, so that the timed calls find its threads awake.

Rounds continue until ``min_rounds`` are done and the case has used its time
``budget_s``; while some contender's interquartile range is above 10% of its
median, up to three times the budget (never beyond ``max_rounds``).
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from dataclasses import dataclass, field

from .impls import Impl


@dataclass
class Settings:
    min_rounds: int = 7
    max_rounds: int = 51
    budget_s: float = 0.4
    min_sample_s: float = 2e-3
    max_calls: int = 200_000
    gap_s: float = 0.0  # sleep before each sample (lets other runtimes' spinning threads settle)
    # With worker threads: one untimed call before each sample of <= 4 calls, so the
    # sample sees this contender's threads awake and its buffers in their steady
    # state (as in a training loop) rather than the wake-up after the previous one.
    settle: bool = False


@dataclass
class Timing:
    samples: list = field(default_factory=list)  # seconds per call
    calls: int = 1
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


def _time_once(impl: Impl, k: int) -> float:
    t0 = time.perf_counter()
    impl.run(k)
    return (time.perf_counter() - t0) / k


def calibrate(impl: Impl, st: Settings) -> int:
    """Calls per sample (also the warm-up: a few untimed-for-the-record calls).

    The per-call time is the minimum of three single calls (robust to one slow,
    e.g. thread wake-up, call) and, for short calls, of a short batch (the timer's
    own overhead is then amortised).
    """
    t = min(_time_once(impl, 1) for _ in range(3))
    k = math.ceil(st.min_sample_s / max(t, 1e-9))
    if k > 1:
        t = min(t, _time_once(impl, max(1, min(k, 1000))))
        k = math.ceil(st.min_sample_s / max(t, 1e-9))
    return max(1, min(st.max_calls, k))


def measure(impls: list[Impl], st: Settings, stream: Impl | None = None) -> dict[str, Timing]:
    """Interleaved samples for every contender (and the stream kernel)."""
    everyone = list(impls) + ([stream] if stream is not None else [])
    timings: dict[str, Timing] = {}
    live: list[Impl] = []
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for imp in everyone:
            tm = Timing()
            timings[imp.name] = tm
            try:
                tm.calls = calibrate(imp, st)
                live.append(imp)
            except Exception as exc:
                tm.error = f"{type(exc).__name__}: {exc}"

        def sample(imp: Impl) -> float | None:
            tm = timings[imp.name]
            if st.gap_s > 0:
                time.sleep(st.gap_s)
            try:
                if st.settle and tm.calls <= 4:
                    imp.run(1)
                t = _time_once(imp, tm.calls)
            except Exception as exc:
                tm.error = f"{type(exc).__name__}: {exc}"
                live.remove(imp)
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
            for imp in live[shift:] + live[:shift]:
                if imp in live:
                    sample(imp)
            rounds += 1
            elapsed = time.perf_counter() - start
            if rounds >= st.max_rounds:
                break
            if rounds < st.min_rounds or elapsed < st.budget_s:
                continue
            unstable = any(timings[i.name].spread > 0.10 for i in live)
            if unstable and elapsed < 3 * st.budget_s:
                continue
            break

        if stream is not None and stream in live:
            t = sample(stream)
            timings[stream.name].after = t if t is not None else math.nan
    finally:
        if gc_was_enabled:
            gc.enable()
    return timings
