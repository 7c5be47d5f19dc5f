"""`llmrl play crafter-text` with injected input."""

from typer.testing import CliRunner

import llmrl.cli.crafter_commands  # noqa: F401  (registers the command)
from llmrl.cli.app import app


def test_play_shows_captions_accepts_names_and_numbers_and_saves_frames(tmp_path):
    frames = tmp_path / "frames"
    result = CliRunner().invoke(
        app,
        ["play", "crafter-text", "--seed", "3", "--length", "2", "--save-frames", str(frames)],
        input="noop\nfly\n?\n5\n",
    )
    assert result.exit_code == 0, result.output
    assert "You see" in result.output and "You are targeting" in result.output
    assert "unknown action 'fly'; valid actions: noop" in result.output
    assert "caption: None" in result.output and "reward: +0.0" in result.output
    assert "Out of time." in result.output
    assert sorted(p.name for p in frames.iterdir()) == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]


def test_play_quits_on_q_and_rejects_bad_action_set():
    result = CliRunner().invoke(app, ["play", "crafter-text", "--seed", "0"], input="q\n")
    assert result.exit_code == 0 and "0:noop" in result.output
    bad = CliRunner().invoke(app, ["play", "crafter-text", "--action-set", "verbs"])
    assert bad.exit_code != 0 and "action_set" in bad.output
