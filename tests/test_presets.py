"""Presets ship inside the package: names resolve from any directory, paths still work, bad names say what exists."""

import pytest
from typer.testing import CliRunner

from llmrl.cli import (
    app,
    preset_commands,  # noqa: F401  (registers `llmrl presets`)
)
from llmrl.presets import PresetNotFoundError, preset_names, resolve_config


def test_every_algorithm_ships_its_presets():
    names = preset_names()
    for algo in ("glam", "ellm", "symbolic-ppo", "drrn", "npae", "bc"):
        assert f"{algo}/paper" in names
    assert "glam/cpu-demo" in names and "glam/cpu-tiny" in names
    assert preset_names("glam") == [n for n in names if n.startswith("glam/")]


@pytest.mark.parametrize("value,algo", [("glam/cpu-tiny", None), ("glam/cpu-tiny.yaml", None), ("cpu-tiny", "glam"),
                                        ("cpu-tiny.yaml", "glam"), ("glam/cpu-tiny", "glam")])
def test_preset_names_resolve_from_any_directory(value, algo, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = resolve_config(value, algo)
    assert path.is_file() and path.parent.name == "glam" and path.name == "cpu-tiny.yaml"


def test_a_path_wins_over_a_preset(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cpu-tiny").write_text("seed: 1\n")
    assert resolve_config("cpu-tiny", "glam").resolve() == (tmp_path / "cpu-tiny").resolve()


def test_an_unknown_preset_lists_the_shipped_ones():
    with pytest.raises(PresetNotFoundError, match="shipped presets for glam: glam/cpu-demo, glam/cpu-tiny"):
        resolve_config("cpu-tinny", "glam")


def test_cli_lists_presets_and_rejects_unknown_algorithms():
    runner = CliRunner()
    listed = runner.invoke(app, ["presets", "drrn"])
    assert listed.exit_code == 0 and listed.output.split() == ["drrn/cpu-tiny", "drrn/paper"]
    bad = runner.invoke(app, ["presets", "dqn"])
    assert bad.exit_code != 0 and "algorithms with presets" in bad.output
