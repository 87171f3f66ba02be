"""A small progress bar for long work (fit, demo), written to stderr.

It draws only when its stream is a terminal, so logs, pipes and CI stay clean; redraws are
rate-limited (at most ~10 per second) so a fast loop pays a clock read per update. Where the
stream is not a terminal (a Jupyter notebook, a log file) and ``lines=True``, it writes plain
lines instead: one every tenth of the total and one at the end (a notebook shows neither
carriage returns nor ANSI erasures the way a terminal does).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Progress:
    """``with Progress(total, "training") as bar: ... bar.update(1, loss=0.3)``.

    Parameters
    ----------
    total : int
        Number of units of work (0 or less: an open-ended counter).
    desc : str
        Label printed before the bar.
    file : stream, optional
        Default ``sys.stderr``.
    enabled : bool, optional
        Default: whether ``file`` is a terminal.
    lines : bool, default False
        When the bar is not enabled, write progress as plain lines.

    Examples
    --------
    >>> import io
    >>> out = io.StringIO()
    >>> with Progress(2, "fit", file=out, lines=True) as bar:
    ...     bar.update(1, loss=0.5); bar.update(1, loss=0.25)
    >>> print(out.getvalue().splitlines()[-1])
    fit: 2/2  loss 0.25
    """

    width = 24

    def __init__(self, total: int, desc: str = "", file: TextIO | None = None,
                 enabled: bool | None = None, lines: bool = False) -> None:
        self.total = int(total)
        self.desc = desc
        self.file = sys.stderr if file is None else file
        if enabled is None:
            isatty = getattr(self.file, "isatty", None)
            try:
                enabled = bool(isatty()) if isatty is not None else False
            except (ValueError, OSError):  # closed stream
                enabled = False
        self.enabled = enabled
        self.lines = bool(lines) and not enabled
        self._every = max(self.total // 10, 1)
        self._last_line = 0
        self.n = 0
        self.postfix = ""
        self._start = time.perf_counter()
        self._last_draw = 0.0
        self._drawn = False

    def update(self, n: int = 1, **postfix: Any) -> None:
        """Advance by ``n`` units; keyword arguments are shown after the bar (floats as %.4g)."""
        self.n += n
        if postfix and (self.enabled or self.lines):
            self.postfix = "  ".join(
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in postfix.items()
            )
        if self.lines:
            if self.n - self._last_line >= self._every:
                self._line()
            return
        if not self.enabled:
            return
        if postfix:
            self.postfix = "  ".join(
                f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in postfix.items()
            )
        now = time.perf_counter()
        if now - self._last_draw >= 0.1 or (self.total > 0 and self.n >= self.total):
            self._last_draw = now
            self._draw(now)

    def _draw(self, now: float) -> None:
        elapsed = now - self._start
        if self.total > 0:
            frac = min(self.n / self.total, 1.0)
            filled = int(round(frac * self.width))
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"{self.desc} [{bar}] {self.n}/{self.total} {elapsed:5.1f}s"
        else:
            text = f"{self.desc} {self.n} {elapsed:5.1f}s"
        if self.postfix:
            text += "  " + self.postfix
        self.file.write("\r" + text + "\x1b[K")
        self.file.flush()
        self._drawn = True

    def _line(self) -> None:
        self._last_line = self.n
        total = f"/{self.total}" if self.total > 0 else ""
        text = f"{self.desc}: {self.n}{total}"
        if self.postfix:
            text += "  " + self.postfix
        self.file.write(text + "\n")
        self.file.flush()

    def close(self) -> None:
        """Finish the line (erase the bar) if anything was drawn; in line mode, write the last
        state if it was not written yet."""
        if self.lines and self.n != self._last_line:
            self._line()
        if self.enabled and self._drawn:
            self.file.write("\r\x1b[K")
            self.file.flush()
            self._drawn = False

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
