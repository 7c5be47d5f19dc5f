"""The progress display: plain lines when not a terminal, a rich bar when it is."""

import io

import pytest
from rich.console import Console

from llmrl.runtime.progress import TrainingProgress


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=False, width=200)
    with TrainingProgress(1000, "glam", log_every_s=3600, console=console) as progress:
        progress.update(100, success_rate=0.25)
        progress.update(200, success_rate=0.5)  # within log_every_s: no line
        progress.update(1000, success_rate=0.75)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("glam: 100/1,000 frames (10.0%) | success_rate 0.25 | fps ")
    assert lines[1].startswith("glam: 1,000/1,000 frames (100.0%) | success_rate 0.75")
    assert len(lines) == 2


def test_rich_bar_on_a_terminal():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160)
    with TrainingProgress(1000, "ellm", initial_frames=500, console=console) as progress:
        progress.update(900, achievements=3)
    assert "ellm" in out.getvalue() and "achievements 3" in out.getvalue()
    assert progress.frames == 900


def test_bad_arguments():
    with pytest.raises(ValueError, match="total_frames must be positive"):
        TrainingProgress(0)
    with TrainingProgress(10, console=Console(file=io.StringIO())) as progress:
        progress.update(5)
        with pytest.raises(ValueError, match="frames went backwards"):
            progress.update(4)


def test_slow_runs_show_fractional_fps(monkeypatch):
    progress = TrainingProgress(1000, console=Console(file=io.StringIO()))
    clock = iter([0.0, 10.0])
    monkeypatch.setattr("llmrl.runtime.progress.time.perf_counter", lambda: next(clock))
    progress.__enter__()
    progress.frames = 4  # 4 frames in 10 s, as SmolLM2 PPO on a CPU
    assert progress.status() == "fps 0.4"


def test_phase_inside_an_update_is_shown_and_cleared(monkeypatch):
    out = io.StringIO()
    now = [0.0]
    monkeypatch.setattr("llmrl.runtime.progress.time.perf_counter", lambda: now[0])
    with TrainingProgress(100, "glam", log_every_s=0, console=Console(file=out, width=200)) as progress:
        progress.update(10, success=0.5)  # line 1
        now[0] = 1.0
        progress.phase("rollout 1/16")  # 1 s after the last line: quiet
        now[0] = 14.0
        progress.phase("update 4/16 samples")  # 14 s after: a line
        now[0] = 15.0
        progress.update(20, success=0.75)  # line 3, phase cleared
    lines = out.getvalue().splitlines()
    assert len(lines) == 3
    assert "update 4/16 samples" in lines[1] and "rollout" not in out.getvalue()
    assert "samples" not in lines[2]
