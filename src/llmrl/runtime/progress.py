"""Training progress: a live rich bar in a terminal, plain periodic log lines elsewhere (CI, files);
and `Stopwatch`, the time spent in a phase (e.g. scoring) of an update."""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

PHASE_LINE_EVERY_S = 10.0


class Stopwatch:
    """Seconds spent inside `with watch:` blocks (here: in the policy's forward passes)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds += time.perf_counter() - self._start


class TrainingProgress:
    """Frames done out of `total_frames`, frames per second and live fields (success rate, ...).

    Use as a context manager and call `update(frames, **fields)` after each update with the
    total frames so far. On a terminal this draws a rich progress bar; otherwise (stdout is
    not a TTY) it prints one plain line at most every `log_every_s` seconds, and a last one
    when it closes.
    """

    def __init__(
        self,
        total_frames: int,
        description: str = "training",
        *,
        initial_frames: int = 0,
        log_every_s: float = 30.0,
        console: Console | None = None,
    ) -> None:
        if total_frames <= 0:
            raise ValueError(f"total_frames must be positive, got {total_frames}")
        if not 0 <= initial_frames <= total_frames:
            raise ValueError(f"initial_frames must be in [0, {total_frames}], got {initial_frames}")
        self.total_frames = total_frames
        self.description = description
        self.console = console or Console()
        self.log_every_s = log_every_s
        self.frames = initial_frames
        self.fields: dict[str, Any] = {}
        self._initial = initial_frames
        self._start = time.perf_counter()
        self._last_line: float | None = None
        self._printed_frames: int | None = None
        self._bar: Progress | None = None
        self._task: Any = None
        self._phase: str | None = None

    def __enter__(self) -> TrainingProgress:
        self._start = time.perf_counter()
        if self.console.is_terminal:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                TextColumn("{task.completed:,.0f}/{task.total:,.0f} frames"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
                console=self.console,
            )
            self._bar.start()
            self._task = self._bar.add_task(
                self.description, total=self.total_frames, completed=self.frames, status=""
            )
        return self

    def update(self, frames: int, **fields: Any) -> None:
        """Set the frames done so far and the live fields shown next to the bar."""
        if frames < self.frames:
            raise ValueError(f"frames went backwards: {frames} < {self.frames}")
        self.frames = frames
        self.fields.update(fields)
        self._phase = None
        if self._bar is not None:
            self._bar.update(self._task, completed=min(frames, self.total_frames), status=self.status())
            return
        now = time.perf_counter()
        if self._last_line is None or now - self._last_line >= self.log_every_s:
            self._print_line()
            self._last_line = now

    def phase(self, text: str) -> None:
        """Say how far the work inside an update is (`rollout 3/16`), between `update` calls.

        On a terminal the bar shows it at once; otherwise a line is printed when none has
        been for `max(log_every_s, PHASE_LINE_EVERY_S)` seconds, so a minutes-long update
        shows life without a line per step.
        """
        self._phase = text
        if self._bar is not None:
            self._bar.update(self._task, status=self.status())
            return
        now = time.perf_counter()
        if self._last_line is None or now - self._last_line >= max(self.log_every_s, PHASE_LINE_EVERY_S):
            self._print_line()
            self._last_line = now

    @property
    def fps(self) -> float:
        """Frames per second since this progress started (frames before a resume excluded)."""
        elapsed = time.perf_counter() - self._start
        return (self.frames - self._initial) / elapsed if elapsed > 0 else 0.0

    def status(self) -> str:
        """The live fields and fps as one short string."""
        parts = [f"{key} {_fmt(value)}" for key, value in self.fields.items()]
        if self._phase is not None:
            parts.append(self._phase)
        # Three significant digits: SmolLM2 on a CPU runs at 0.4 frames/s, which ",.0f" showed as 0.
        fps = self.fps
        return " | ".join([*parts, f"fps {fps:,.0f}" if fps >= 100 else f"fps {fps:.3g}"])

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()
        elif self._printed_frames != self.frames:
            self._print_line()

    def _print_line(self) -> None:
        self._printed_frames = self.frames
        share = 100 * self.frames / self.total_frames
        line = f"{self.description}: {self.frames:,}/{self.total_frames:,} frames ({share:.1f}%) | {self.status()}"
        self.console.print(line, markup=False, highlight=False, soft_wrap=True)


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
